import pytest
from psycopg import sql


@pytest.mark.daily
@pytest.mark.severity("alta")
def test_failed_logins_by_ip(db, schema, settings, thresholds, finding):
    """No IP has more failed logins than the threshold in the window (runbook 7.1)."""
    src = settings.security.failed_logins
    t = schema.table(src.table)
    hours, limit = thresholds.failed_logins_window_hours, thresholds.failed_logins_per_ip_max_count
    # One pass over the window (index on the time column): the peak, how many IPs are above
    # the limit and a sample of them.
    query = sql.SQL("""
        WITH per_ip AS (
            SELECT f.{ip}::text AS ip_address, count(*) AS attempts,
                   min(f.{ts}) AS first_attempt, max(f.{ts}) AS last_attempt
              FROM {src} f
             WHERE f.{ts} > now() - make_interval(hours => %(hours)s)
               AND f.{ip} IS NOT NULL
             GROUP BY f.{ip}
        ), above AS (
            SELECT * FROM per_ip WHERE attempts > %(limit)s
        )
        SELECT (SELECT coalesce(max(attempts), 0) FROM per_ip) AS peak,
               (SELECT count(*) FROM above) AS ips_above,
               (SELECT coalesce(json_agg(s ORDER BY s.attempts DESC, s.ip_address), '[]'::json)
                  FROM (SELECT * FROM above ORDER BY attempts DESC, ip_address LIMIT 10) s) AS sample
    """).format(ip=t.col(src.ip_column), ts=t.col(src.time_column), src=t.ident)
    r = db.row(query, {"hours": hours, "limit": limit})
    finding.at_most(
        r["peak"], limit,
        threshold_name="failed_logins_per_ip_max_count",
        measured=f"most failed logins from one IP in the last {hours} h ({t.qualified}); "
                 f"{r['ips_above']} IPs above the limit",
        rows=r["sample"], rows_total=r["ips_above"],
        remediation="Block or rate-limit the IPs at the edge (Supabase Auth rate limits, a WAF rule), check "
                    "whether the targeted accounts were compromised and force a password reset if so",
        runbook="7.1",
        personal=("ip_address",),
    )
