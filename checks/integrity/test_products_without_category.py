import pytest
from psycopg import sql


@pytest.mark.daily
@pytest.mark.critical
@pytest.mark.severity("critica")
def test_products_without_category(db, schema, thresholds, finding):
    """Products whose categoria_id points at no category (runbook 2.2 step 6, 3.3)."""
    p, c = schema.table("productos"), schema.table("categorias")
    # NOT EXISTS plans as an anti-join (errata 8); the window count gives total and sample in one pass.
    query = sql.SQL("""
        SELECT p.{pid} AS id, p.{sku} AS sku, p.{nombre} AS nombre, p.{cat} AS categoria_id,
               count(*) OVER () AS total
          FROM {productos} p
         WHERE p.{cat} IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM {categorias} c WHERE c.{cid} = p.{cat})
         ORDER BY p.{pid}
         LIMIT 10
    """).format(
        pid=p.col("id"), sku=p.col("sku"), nombre=p.col("nombre"), cat=p.col("categoria_id"),
        productos=p.ident, categorias=c.ident, cid=c.col("id"),
    )
    total, rows = db.sample(query)
    finding.at_most(
        total,
        thresholds.orphan_products_max_count,
        threshold_name="orphan_products_max_count",
        measured=f"products whose {p.colname('categoria_id')} points at no category",
        rows=rows,
        rows_total=total,
        remediation="Re-point them at an existing category or restore the missing categories; "
        "then find how they appeared (a restore with triggers disabled, a dropped foreign key)",
        runbook="3.3",
    )
