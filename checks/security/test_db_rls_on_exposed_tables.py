import pytest

from checks.security._db_catalog import ROW_PRIVILEGES, api_roles, none_allowed

# Every table of an exposed schema that an API role can read or write, with RLS off.
QUERY = """
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS "table",
       string_agg(DISTINCT r.rolname, ', ' ORDER BY r.rolname) AS reachable_by,
       string_agg(DISTINCT p.priv, ', ' ORDER BY p.priv) AS privileges,
       count(*) OVER () AS total
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 CROSS JOIN (SELECT oid, rolname FROM pg_catalog.pg_roles WHERE rolname = ANY(%(roles)s)) r
 CROSS JOIN unnest(%(privs)s::text[]) AS p(priv)
 WHERE n.nspname = ANY(%(schemas)s)
   AND c.relkind IN ('r', 'p')
   AND NOT c.relrowsecurity
   AND has_schema_privilege(r.oid, n.oid, 'USAGE')
   AND (has_table_privilege(r.oid, c.oid, p.priv)
        OR (p.priv <> 'DELETE' AND has_any_column_privilege(r.oid, c.oid, p.priv)))
 GROUP BY n.nspname, c.relname
 ORDER BY 1
 LIMIT 10
"""


@pytest.mark.daily
@pytest.mark.critical
@pytest.mark.severity("critica")
def test_rls_on_exposed_tables(db, settings, finding):
    """Tables of the exposed schemas that anon/authenticated can read or write have RLS on (runbook 7.1)."""
    sec = settings.security
    roles = api_roles(db, sec)
    total, rows = db.sample(QUERY, {"roles": roles, "privs": ROW_PRIVILEGES, "schemas": sec.exposed_schemas})
    none_allowed(
        finding, total, rows,
        measured=f"tables in {', '.join(sec.exposed_schemas)} that {', '.join(roles)} can read or write "
                 "with row level security disabled",
        remediation="ALTER TABLE … ENABLE ROW LEVEL SECURITY and add the policies the app needs (or REVOKE the "
                    "API roles' privileges): PostgREST serves every such table to anyone holding the anon key, "
                    "and Supabase grants anon/authenticated on every new table",
        runbook="7.1",
    )
