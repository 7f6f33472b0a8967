import pytest

from checks.security._db_catalog import FUNCTION_SIGNATURE, NOT_EXTENSION_MEMBER, none_allowed

# A SECURITY DEFINER function runs with its owner's rights; without a pinned search_path a
# caller who can create objects in a schema on the path makes it run their code.
QUERY = f"""
SELECT {FUNCTION_SIGNATURE} AS function,
       pg_catalog.pg_get_userbyid(p.proowner) AS owner,
       l.lanname AS language,
       coalesce(array_to_string(p.proconfig, ', '), '') AS settings,
       count(*) OVER () AS total
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_catalog.pg_language l ON l.oid = p.prolang
 WHERE n.nspname = ANY(%(schemas)s)
   AND p.prosecdef
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) AS cfg WHERE left(cfg, 12) = 'search_path=')
   AND {NOT_EXTENSION_MEMBER.format(catalog='pg_catalog.pg_proc', oid='p.oid')}
 ORDER BY 1
 LIMIT 10
"""


@pytest.mark.daily
@pytest.mark.severity("alta")
def test_definer_search_path(db, settings, finding):
    """SECURITY DEFINER functions of the exposed schemas pin their search_path (runbook 7.1)."""
    sec = settings.security
    total, rows = db.sample(QUERY, {"schemas": sec.exposed_schemas})
    none_allowed(
        finding, total, rows,
        measured=f"SECURITY DEFINER functions in {', '.join(sec.exposed_schemas)} without a fixed search_path",
        remediation="ALTER FUNCTION … SET search_path = pg_catalog, public, pg_temp (or = '' with qualified "
                    "names), or make it SECURITY INVOKER if it does not need its owner's rights",
        runbook="7.1",
    )
