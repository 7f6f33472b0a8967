import pytest

from checks.security._db_catalog import FUNCTION_SIGNATURE, NOT_EXTENSION_MEMBER, anon_role, none_allowed

# PostgREST exposes every function of an exposed schema as /rest/v1/rpc/<name>; a SECURITY
# DEFINER one that anon can execute (directly, or through PUBLIC's default EXECUTE) runs
# with its owner's rights for anyone holding the anon key. executable_through names the
# grantees anon inherits EXECUTE from: pg_has_role 'USAGE', as has_function_privilege counts
# it ('MEMBER' would also list a NOINHERIT membership, which grants nothing).
QUERY = f"""
WITH a AS (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = %(anon)s)
SELECT {FUNCTION_SIGNATURE} AS function,
       pg_catalog.pg_get_userbyid(p.proowner) AS owner,
       (SELECT string_agg(DISTINCT CASE WHEN x.grantee = 0 THEN 'PUBLIC'
                                        ELSE pg_catalog.pg_get_userbyid(x.grantee) END, ', ')
          FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) x
         WHERE x.privilege_type = 'EXECUTE'
           AND (x.grantee = 0 OR pg_catalog.pg_has_role(a.oid, x.grantee, 'USAGE'))) AS executable_through,
       count(*) OVER () AS total
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 CROSS JOIN a
 WHERE n.nspname = ANY(%(schemas)s)
   AND p.prosecdef
   AND has_schema_privilege(a.oid, n.oid, 'USAGE')
   AND has_function_privilege(a.oid, p.oid, 'EXECUTE')
   AND NOT (n.nspname || '.' || p.proname = ANY(%(allow)s)
            OR replace({FUNCTION_SIGNATURE}, ' ', '') = ANY(%(allow)s))
   AND {NOT_EXTENSION_MEMBER.format(catalog='pg_catalog.pg_proc', oid='p.oid')}
 ORDER BY 1
 LIMIT 10
"""


@pytest.mark.weekly
@pytest.mark.severity("alta")
def test_definer_callable_by_anon(db, settings, finding):
    """No SECURITY DEFINER function of the exposed schemas is executable by anon, outside the allow list (runbook 7.1)."""
    sec = settings.security
    anon = anon_role(db, sec)
    allow = [e.replace(" ", "") if "(" in e else e for e in sec.definer_allow]
    total, rows = db.sample(QUERY, {"anon": anon, "schemas": sec.exposed_schemas, "allow": allow})
    none_allowed(
        finding, total, rows,
        measured=f"SECURITY DEFINER functions in {', '.join(sec.exposed_schemas)} that {anon} can execute",
        allowed_by="definer_allow",
        remediation=f"REVOKE EXECUTE ON FUNCTION … FROM PUBLIC, {anon} (Supabase's default privileges grant "
                    "it on every new function), GRANT it to the roles that need it; or list the function in "
                    "security.definer_allow if anon must call it",
        runbook="7.1",
    )
