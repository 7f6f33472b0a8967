import pytest
from psycopg import sql


@pytest.mark.weekly
@pytest.mark.severity("media")
def test_stock_bounds(db, schema, thresholds, finding):
    """Stock rows whose stock_minimo is above the stock_maximo set for them."""
    s = schema.table("stock_deposito")
    query = sql.SQL("""
        SELECT s.{id} AS id, s.{pid} AS producto_id, s.{dep} AS deposito, s.{mn} AS stock_minimo,
               s.{mx} AS stock_maximo, count(*) OVER () AS total
          FROM {stock} s
         WHERE s.{mx} IS NOT NULL
           AND s.{mn} > s.{mx}
         ORDER BY s.{mn} - s.{mx} DESC, s.{pid}, s.{dep}   -- the worst first; matches no index order: one pass
         LIMIT 10
    """).format(id=s.col("id"), pid=s.col("producto_id"), dep=s.col("deposito"), mn=s.col("stock_minimo"),
                mx=s.col("stock_maximo"), stock=s.ident)
    total, rows = db.sample(query)
    finding.at_most(
        total,
        thresholds.inverted_stock_bounds_max_count,
        threshold_name="inverted_stock_bounds_max_count",
        measured=f"{s.qualified} rows with {s.colname('stock_minimo')} > {s.colname('stock_maximo')}",
        rows=rows,
        rows_total=total,
        remediation="Correct the bounds (a swapped minimum and maximum is the usual cause): low-stock alerts and "
        "reorder quantities are computed from them",
        runbook="4.2",
    )
