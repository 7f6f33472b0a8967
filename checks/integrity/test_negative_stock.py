import pytest
from psycopg import sql


@pytest.mark.daily
@pytest.mark.severity("alta")
def test_negative_stock(db, schema, thresholds, finding):
    """Stock rows with stock_actual < 0 (a movement booked twice, or a salida without stock)."""
    s = schema.table("stock_deposito")
    # One pass over stock_deposito (no index on stock_actual: rows are few and the scan is single).
    query = sql.SQL("""
        SELECT s.{id} AS id, s.{pid} AS producto_id, s.{dep} AS deposito, s.{actual} AS stock_actual,
               s.{upd} AS ultima_actualizacion, count(*) OVER () AS total
          FROM {stock} s
         WHERE s.{actual} < 0
         ORDER BY s.{actual}, s.{pid}
         LIMIT 10
    """).format(id=s.col("id"), pid=s.col("producto_id"), dep=s.col("deposito"), actual=s.col("stock_actual"),
                upd=s.col("ultima_actualizacion"), stock=s.ident)
    total, rows = db.sample(query)
    finding.at_most(
        total,
        thresholds.negative_stock_max_count,
        threshold_name="negative_stock_max_count",
        measured=f"{s.qualified} rows with {s.colname('stock_actual')} < 0",
        rows=rows,
        rows_total=total,
        remediation="Count the shelf, book an 'ajuste' movement to the real quantity, and find the movements "
        "(movimientos_deposito) that drove it below zero",
        runbook="3.3",
    )
