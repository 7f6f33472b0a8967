import pytest

from checks.security._db_catalog import NOT_EXTENSION_MEMBER, api_roles, none_allowed

# A view runs with its owner's privileges (and so past the base tables' RLS) unless it is
# security_invoker (PostgreSQL 15+). Materialized views have no RLS at all and are left to
# their grants.
QUERY = f"""
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS view,
       pg_catalog.pg_get_userbyid(c.relowner) AS owner,
       string_agg(r.rolname, ', ' ORDER BY r.rolname) AS readable_by,
       count(*) OVER () AS total
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 CROSS JOIN (SELECT oid, rolname FROM pg_catalog.pg_roles WHERE rolname = ANY(%(roles)s)) r
 WHERE n.nspname = ANY(%(schemas)s)
   AND c.relkind = 'v'
   AND has_schema_privilege(r.oid, n.oid, 'USAGE')
   AND (has_table_privilege(r.oid, c.oid, 'SELECT') OR has_any_column_privilege(r.oid, c.oid, 'SELECT'))
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_options_to_table(c.reloptions) o
                    WHERE o.option_name = 'security_invoker'
                      AND lower(o.option_value) IN ('true', 'on', '1', 'yes', 't', 'y'))
   AND {NOT_EXTENSION_MEMBER.format(catalog='pg_catalog.pg_class', oid='c.oid')}
 GROUP BY n.nspname, c.relname, c.relowner
 ORDER BY 1
 LIMIT 10
"""


@pytest.mark.weekly
@pytest.mark.severity("alta")
def test_views_bypass_rls(db, settings, finding):
    """Views of the exposed schemas that anon/authenticated can read are security_invoker (runbook 7.1)."""
    if (db.server_version_num or 0) < 150000:
        pytest.skip(f"security_invoker views need PostgreSQL 15+ (server {db.server_version_num})")
    sec = settings.security
    roles = api_roles(db, sec)
    total, rows = db.sample(QUERY, {"roles": roles, "schemas": sec.exposed_schemas})
    none_allowed(
        finding, total, rows,
        measured=f"views in {', '.join(sec.exposed_schemas)} readable by {', '.join(roles)} that run with "
                 "their owner's rights (not security_invoker), bypassing the base tables' RLS",
        remediation="ALTER VIEW … SET (security_invoker = true), so the caller's privileges and RLS apply; "
                    "or REVOKE SELECT from the API roles",
        runbook="7.1",
    )
