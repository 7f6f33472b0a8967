import pytest
from psycopg import sql

from checks.security._db_catalog import none_allowed


@pytest.mark.daily
@pytest.mark.severity("alta")
def test_inactive_staff_acting(db, schema, thresholds, finding):
    """Deactivated staff have no audit_log activity in the recent window (runbook 7.2)."""
    p, a = schema.table("personal"), schema.table("audit_log")
    days = thresholds.inactive_staff_window_days
    # The lateral count walks audit_log's (user_id, created_at) index per inactive account.
    query = sql.SQL("""
        SELECT p.{pid} AS id, p.{nombre} AS nombre, p.{email} AS email,
               act.events, act.event_types, act.last_activity,
               count(*) OVER () AS total
          FROM {personal} p
         CROSS JOIN LATERAL (
               SELECT count(*) AS events, max(a.{created_at}) AS last_activity,
                      string_agg(DISTINCT a.{event_type}::text, ', ') AS event_types
                 FROM {audit} a
                WHERE a.{user_id} = p.{pid}
                  AND a.{created_at} > now() - make_interval(days => %(days)s)) act
         WHERE p.{activo} IS FALSE
           AND act.events > 0
         ORDER BY act.last_activity DESC, p.{pid}
         LIMIT 10
    """).format(
        pid=p.col("id"), nombre=p.col("nombre"), email=p.col("email"), activo=p.col("activo"), personal=p.ident,
        audit=a.ident, created_at=a.col("created_at"), event_type=a.col("event_type"), user_id=a.col("user_id"),
    )
    total, rows = db.sample(query, {"days": days})
    none_allowed(
        finding, total, rows,
        measured=f"inactive {p.qualified} accounts with {a.qualified} activity in the last {days} days",
        threshold=f"0 in inactive_staff_window_days = {days}",
        remediation="Revoke the account's sessions and credentials now (Supabase Auth: sign the user out, "
                    "ban or delete it), then review what it did (audit_log) and how it still got in",
        runbook="7.2",
        personal=("nombre",),
    )
