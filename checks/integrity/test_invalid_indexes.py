import pytest

# Read-only catalog query; system schemas are left out, TOAST indexes are kept (a failed
# REINDEX CONCURRENTLY leaves its *_ccnew index there too).
QUERY = """
SELECT n.nspname AS schema_name, ic.relname AS index_name, t.relname AS table_name,
       i.indisready AS ready, pg_catalog.pg_relation_size(i.indexrelid) AS size_bytes,
       pg_catalog.pg_get_indexdef(i.indexrelid) AS definition,
       count(*) OVER () AS total
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
 WHERE NOT i.indisvalid
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
 ORDER BY n.nspname, ic.relname
 LIMIT 10
"""


@pytest.mark.weekly
@pytest.mark.severity("alta")
def test_invalid_indexes(db, thresholds, finding):
    """Indexes with indisvalid = false: a failed CREATE INDEX / REINDEX CONCURRENTLY (runbook 8.1)."""
    total, rows = db.sample(QUERY)
    finding.at_most(
        total,
        thresholds.invalid_indexes_max_count,
        threshold_name="invalid_indexes_max_count",
        measured="indexes left invalid (not used by queries; a unique one may not guard its rule)",
        rows=rows,
        rows_total=total,
        remediation="REINDEX INDEX CONCURRENTLY <index> (or DROP INDEX CONCURRENTLY and create it again), outside "
        "peak hours; for a unique index, first look for the duplicates that made the build fail",
        runbook="8.1",
    )
