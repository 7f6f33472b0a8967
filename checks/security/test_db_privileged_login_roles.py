import pytest

from checks.security._db_catalog import none_allowed

QUERY = """
SELECT r.rolname AS role, r.rolsuper AS superuser, r.rolcreaterole AS createrole, r.rolbypassrls AS bypassrls,
       count(*) OVER () AS total
  FROM pg_catalog.pg_roles r
 WHERE r.rolcanlogin
   AND (r.rolsuper OR r.rolcreaterole OR r.rolbypassrls)
   AND NOT (r.rolname = ANY(%(allow)s))
 ORDER BY 1
 LIMIT 10
"""


@pytest.mark.weekly
@pytest.mark.severity("media")
def test_privileged_login_roles(db, settings, finding):
    """Login roles with superuser, createrole or bypassrls are only the allowed ones (runbook 7.1)."""
    allow = settings.security.login_role_allow
    total, rows = db.sample(QUERY, {"allow": allow})
    none_allowed(
        finding, total, rows,
        measured="login roles with superuser, createrole or bypassrls",
        allowed_by="login_role_allow",
        remediation="ALTER ROLE … NOSUPERUSER NOCREATEROLE NOBYPASSRLS (or NOLOGIN) unless the role is the "
                    "platform's or this suite's own; then add it to security.login_role_allow with the reason",
        runbook="7.1",
    )
