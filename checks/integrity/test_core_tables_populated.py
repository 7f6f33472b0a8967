import pytest
from psycopg import sql

CORE_TABLES = ("productos", "categorias", "proveedores")


@pytest.mark.daily
@pytest.mark.critical
@pytest.mark.severity("critica")
def test_core_tables_populated(db, schema, thresholds, finding):
    """productos, categorias and proveedores hold rows: the post-restore count (runbook 2.2 step 5)."""
    tables = [schema.table(k) for k in CORE_TABLES]
    # One statement, one pass per table; the count stops at the threshold (no full scan needed to say "enough").
    limit = thresholds.core_table_min_rows_count
    query = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {key} AS tabla, (SELECT count(*) FROM (SELECT 1 FROM {t} LIMIT {n}) s) AS filas").format(
            key=sql.Literal(t.qualified), t=t.ident, n=sql.Literal(limit))
        for t in tables
    )
    counts = db.rows(query, limit=len(tables))
    short = [c for c in counts if c["filas"] < limit]
    finding.at_least(
        min(c["filas"] for c in counts),
        limit,
        threshold_name="core_table_min_rows_count",
        measured="rows in the smallest of " + ", ".join(t.qualified for t in tables) + " (counted up to the threshold)",
        rows=short,
        remediation="A core table is empty or nearly so: the restore did not bring its data. Do not let traffic in; "
        "restore the table from the last good backup and compare the counts with the baseline",
        runbook="2.2",
    )
