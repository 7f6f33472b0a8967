import pytest
from psycopg import sql

from checks.security._db_catalog import none_allowed


@pytest.mark.daily
@pytest.mark.severity("media")
def test_staff_without_role(db, schema, settings, finding):
    """Active staff accounts have a role, and a known one (runbook 7.1, "usuarios sin roles")."""
    p = schema.table("personal")
    known = settings.security.staff_roles
    query = sql.SQL("""
        SELECT p.{id} AS id, p.{nombre} AS nombre, p.{email} AS email, p.{rol} AS rol,
               count(*) OVER () AS total
          FROM {personal} p
         WHERE p.{activo} IS TRUE
           AND (nullif(btrim(p.{rol}::text), '') IS NULL OR NOT (p.{rol}::text = ANY(%(known)s)))
         ORDER BY p.{id}
         LIMIT 10
    """).format(
        id=p.col("id"), nombre=p.col("nombre"), email=p.col("email"), rol=p.col("rol"), activo=p.col("activo"),
        personal=p.ident,
    )
    total, rows = db.sample(query, {"known": known})
    none_allowed(
        finding, total, rows,
        measured=f"active {p.qualified} rows whose {p.colname('rol')} is empty or not one of {', '.join(known)}",
        remediation="Give each one the role of their job (or deactivate the account); a role outside "
                    "security.staff_roles is either a new role to add there or a typo the policies ignore",
        runbook="7.1",
        personal=("nombre",),
    )
