import pytest

from checks.security._db_catalog import none_allowed

# An extension is judged by where its objects live: functions, tables, views and types in
# an exposed schema are served (and callable) through PostgREST. An extension whose own
# namespace is public but whose objects live elsewhere (pg_cron created without a schema
# keeps everything in `cron`) exposes nothing.
QUERY = """
SELECT e.extname AS extension, e.extversion AS version, en.nspname AS extension_schema,
       string_agg(DISTINCT n.nspname, ', ') AS objects_in, count(*) AS objects,
       count(*) OVER () AS total
  FROM pg_catalog.pg_extension e
  JOIN pg_catalog.pg_namespace en ON en.oid = e.extnamespace
  JOIN pg_catalog.pg_depend d
    ON d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.refobjid = e.oid AND d.deptype = 'e'
  JOIN LATERAL (
        SELECT p.pronamespace AS nsp FROM pg_catalog.pg_proc p
         WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND p.oid = d.objid
        UNION ALL
        SELECT c.relnamespace FROM pg_catalog.pg_class c
         WHERE d.classid = 'pg_catalog.pg_class'::regclass AND c.oid = d.objid
        UNION ALL
        SELECT t.typnamespace FROM pg_catalog.pg_type t
         WHERE d.classid = 'pg_catalog.pg_type'::regclass AND t.oid = d.objid
       ) o ON true
  JOIN pg_catalog.pg_namespace n ON n.oid = o.nsp
 WHERE n.nspname = ANY(%(schemas)s)
 GROUP BY e.extname, e.extversion, en.nspname
 ORDER BY 1
 LIMIT 10
"""


@pytest.mark.weekly
@pytest.mark.severity("media")
def test_extensions_in_exposed_schemas(db, settings, finding):
    """No extension has its objects in an exposed schema (they would become API) (runbook 7.1)."""
    sec = settings.security
    total, rows = db.sample(QUERY, {"schemas": sec.exposed_schemas})
    none_allowed(
        finding, total, rows,
        measured=f"extensions installed with objects in {', '.join(sec.exposed_schemas)}",
        remediation="ALTER EXTENSION … SET SCHEMA extensions (where the extension allows it; otherwise drop "
                    "and re-create it WITH SCHEMA extensions), so its objects are not served by PostgREST",
        runbook="7.1",
    )
