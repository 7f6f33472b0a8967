import pytest

from checks.security._db_catalog import ROW_PRIVILEGES, anon_role, none_allowed

# anon holds a row privilege (directly, through PUBLIC or a role whose privileges it inherits)
# on a sensitive table, and either RLS is off or a permissive policy applies to anon or PUBLIC.
# The privilege alone is not the finding: Supabase grants anon every new table by default.
# Privileges and policies reach a role through inherited privileges (PostgreSQL's
# has_privs_of_role), which pg_has_role(..., 'USAGE') tests; 'MEMBER' would also count a
# NOINHERIT membership, which grants neither until the role does SET ROLE.
QUERY = """
WITH a AS (
    SELECT oid FROM pg_catalog.pg_roles WHERE rolname = %(anon)s
), t AS (
    SELECT c.oid, n.oid AS nspoid, n.nspname, c.relname, c.relkind, c.relrowsecurity, c.relacl, c.relowner
      FROM unnest(%(schemas)s::text[], %(names)s::text[]) AS s(nspname, relname)
      JOIN pg_catalog.pg_namespace n ON n.nspname = s.nspname
      JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = s.relname
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
)
SELECT quote_ident(t.nspname) || '.' || quote_ident(t.relname) AS "table",
       privs.list AS privileges,
       coalesce(via.list, 'column privileges') AS granted_to,
       CASE WHEN t.relkind IN ('r', 'p') THEN CASE WHEN t.relrowsecurity THEN 'on' ELSE 'off' END
            ELSE 'n/a (not a table)' END AS rls,
       pols.list AS anon_policies,
       count(*) OVER () AS total
  FROM t
 CROSS JOIN a
 CROSS JOIN LATERAL (
       SELECT string_agg(p, ', ' ORDER BY p) AS list
         FROM unnest(%(privs)s::text[]) AS p
        WHERE has_table_privilege(a.oid, t.oid, p)
           OR (p <> 'DELETE' AND has_any_column_privilege(a.oid, t.oid, p))) privs
 CROSS JOIN LATERAL (
       SELECT string_agg(DISTINCT CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(x.grantee) END, ', ') AS list
         FROM aclexplode(coalesce(t.relacl, acldefault('r', t.relowner))) x
        WHERE x.privilege_type = ANY(%(privs)s::text[])
          AND (x.grantee = 0 OR pg_catalog.pg_has_role(a.oid, x.grantee, 'USAGE'))) via
 CROSS JOIN LATERAL (
       SELECT string_agg(pol.polname::text, ', ' ORDER BY pol.polname) AS list
         FROM pg_catalog.pg_policy pol
        WHERE pol.polrelid = t.oid
          AND pol.polpermissive
          AND EXISTS (SELECT 1 FROM unnest(pol.polroles) AS pr
                       WHERE pr = 0 OR pg_catalog.pg_has_role(a.oid, pr, 'USAGE'))) pols
 WHERE privs.list IS NOT NULL
   AND has_schema_privilege(a.oid, t.nspoid, 'USAGE')
   AND (t.relkind NOT IN ('r', 'p') OR NOT t.relrowsecurity OR pols.list IS NOT NULL)
 ORDER BY 1
 LIMIT 10
"""


@pytest.mark.daily
@pytest.mark.critical
@pytest.mark.severity("critica")
def test_anon_reaches_sensitive_tables(db, schema, settings, finding):
    """The anon key reaches no sensitive table: no privilege, or RLS on with no policy for anon/PUBLIC (runbook 7.1)."""
    sec = settings.security
    anon = anon_role(db, sec)
    tables = [schema.table(key) for key in sec.sensitive_tables]  # a missing one is schema drift: not run
    total, rows = db.sample(QUERY, {"anon": anon, "privs": ROW_PRIVILEGES,
                                    "schemas": [t.map.schema_name for t in tables],
                                    "names": [t.map.name for t in tables]})
    none_allowed(
        finding, total, rows,
        measured=f"sensitive tables ({', '.join(t.qualified for t in tables)}) that {anon} can reach: "
                 "a privilege plus RLS off or a policy for anon/PUBLIC",
        remediation=f"Drop the policy that applies to {anon}/PUBLIC (or ENABLE ROW LEVEL SECURITY) and "
                    f"REVOKE ALL ON the table FROM {anon}, PUBLIC; then check the API with the anon key",
        runbook="7.1",
    )
