import pytest
from psycopg import sql


@pytest.mark.daily
@pytest.mark.critical
@pytest.mark.severity("critica")
def test_stock_without_product(db, schema, thresholds, finding):
    """stock_deposito rows whose product does not exist (runbook 3.3 step 3)."""
    s, p = schema.table("stock_deposito"), schema.table("productos")
    # NOT EXISTS plans as an anti-join (errata 8); the window count gives total and sample in one pass.
    query = sql.SQL("""
        SELECT s.{sid} AS id, s.{pid} AS producto_id, s.{dep} AS deposito, s.{actual} AS stock_actual,
               count(*) OVER () AS total
          FROM {stock} s
         WHERE NOT EXISTS (SELECT 1 FROM {productos} p WHERE p.{id} = s.{pid})
         ORDER BY s.{pid}, s.{dep}
         LIMIT 10
    """).format(
        sid=s.col("id"), pid=s.col("producto_id"), dep=s.col("deposito"), actual=s.col("stock_actual"),
        stock=s.ident, productos=p.ident, id=p.col("id"),
    )
    total, rows = db.sample(query)
    finding.at_most(
        total,
        thresholds.orphan_stock_max_count,
        threshold_name="orphan_stock_max_count",
        measured=f"{s.qualified} rows whose {s.colname('producto_id')} points at no product",
        rows=rows,
        rows_total=total,
        remediation="Restore the missing products (or, once confirmed as garbage, delete these stock rows); "
        "then check that the foreign key is back and validated (foreign_keys_present)",
        runbook="3.3",
    )
