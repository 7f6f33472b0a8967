import pytest

from checks.security._db_catalog import api_roles, none_allowed, qualified_names
from minimarket_ops.vocabulary import Severity

# (a) RLS on and no policy at all (deny-all: usually a forgotten policy), reported at media;
# (b) a permissive policy that applies to an API role or PUBLIC and whose USING or WITH
#     CHECK is literally true: every row for everyone holding that role, reported at alta.
#     On an allow-listed table a SELECT policy may be true (the public catalogue); a write
#     policy that is true is reported everywhere.
# A policy applies to a role that inherits the privileges of one of its roles: pg_has_role
# 'USAGE' (PostgreSQL's own test, has_privs_of_role), not 'MEMBER' (a NOINHERIT membership).
QUERY = """
WITH api AS (
    SELECT oid FROM pg_catalog.pg_roles WHERE rolname = ANY(%(roles)s)
), allowed AS (
    SELECT * FROM unnest(%(allow_schemas)s::text[], %(allow_names)s::text[]) AS a(nspname, relname)
), problems AS (
    SELECT 1 AS rank, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS "table",
           pol.polname::text AS policy,
           (SELECT string_agg(CASE WHEN pr = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(pr) END, ', ')
              FROM unnest(pol.polroles) AS pr) AS roles,
           CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                           WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS command,
           concat_ws(' and ',
                     CASE WHEN pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) = 'true' THEN 'USING (true)' END,
                     CASE WHEN pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid) = 'true' THEN 'WITH CHECK (true)' END
           ) AS problem
      FROM pg_catalog.pg_policy pol
      JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ANY(%(schemas)s)
       AND pol.polpermissive
       AND (pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) = 'true'
            OR pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid) = 'true')
       AND EXISTS (SELECT 1 FROM unnest(pol.polroles) AS pr
                    WHERE pr = 0 OR EXISTS (SELECT 1 FROM api WHERE pg_catalog.pg_has_role(api.oid, pr, 'USAGE')))
       AND NOT (pol.polcmd = 'r'
                AND EXISTS (SELECT 1 FROM allowed a WHERE a.nspname = n.nspname AND a.relname = c.relname))
    UNION ALL
    SELECT 2, quote_ident(n.nspname) || '.' || quote_ident(c.relname), NULL, NULL, NULL,
           'RLS enabled, no policy'
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ANY(%(schemas)s)
       AND c.relkind IN ('r', 'p')
       AND c.relrowsecurity
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid)
)
SELECT "table", policy, roles, command, problem,
       count(*) FILTER (WHERE rank = 1) OVER () AS permissive_total,
       count(*) OVER () AS total
  FROM problems
 ORDER BY rank, "table", policy
 LIMIT 10
"""


@pytest.mark.weekly
@pytest.mark.severity("alta")
def test_rls_policies(db, settings, finding):
    """RLS tables have policies, and no policy for anon/authenticated/PUBLIC is literally true (runbook 7.1)."""
    sec = settings.security
    roles = api_roles(db, sec)
    allow_schemas, allow_names = qualified_names(sec.permissive_policy_allow, settings.schema_map)
    total, rows = db.sample(QUERY, {"roles": roles, "schemas": sec.exposed_schemas,
                                    "allow_schemas": allow_schemas, "allow_names": allow_names})
    permissive = rows[0]["permissive_total"] if rows else 0
    none_allowed(
        finding, total, [{k: v for k, v in r.items() if k != "permissive_total"} for r in rows],
        measured=f"policies in {', '.join(sec.exposed_schemas)} that are literally true for "
                 f"{', '.join(roles)} or PUBLIC, and RLS tables without any policy",
        allowed_by="permissive_policy_allow",
        level=None if permissive else Severity.media,
        remediation="Replace USING (true) / WITH CHECK (true) with a real condition (auth.uid(), a role "
                    "helper) or list the public catalogue table in security.permissive_policy_allow; give a "
                    "table with RLS and no policy the policy it needs, or drop it from the exposed schema",
        runbook="7.1",
    )
