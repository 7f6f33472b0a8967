import pytest
from psycopg import sql


@pytest.mark.daily
@pytest.mark.critical
@pytest.mark.severity("critica")
def test_prices_without_product_or_supplier(db, schema, thresholds, finding):
    """precios_proveedor rows pointing at no product or no supplier (runbook 3.3, 6.1)."""
    pp, p, prov_t = schema.table("precios_proveedor"), schema.table("productos"), schema.table("proveedores")
    # Two anti-joins, one per parent (UNION ALL): each plans as a hash anti-join; one
    # `NOT EXISTS … OR NOT EXISTS …` would not. A row missing both parents appears twice.
    cols = sql.SQL("pp.{id} AS id, pp.{prod} AS producto_id, pp.{prov} AS proveedor_id, pp.{vig} AS es_precio_vigente").format(
        id=pp.col("id"), prod=pp.col("producto_id"), prov=pp.col("proveedor_id"), vig=pp.col("es_precio_vigente"))
    query = sql.SQL("""
        SELECT o.*, count(*) OVER () AS total FROM (
            SELECT 'producto' AS falta, {cols}
              FROM {precios} pp
             WHERE NOT EXISTS (SELECT 1 FROM {productos} p WHERE p.{pid} = pp.{prod})
            UNION ALL
            SELECT 'proveedor' AS falta, {cols}
              FROM {precios} pp
             WHERE NOT EXISTS (SELECT 1 FROM {proveedores} v WHERE v.{vid} = pp.{prov})
        ) o
        ORDER BY o.falta, o.producto_id, o.proveedor_id
        LIMIT 10
    """).format(
        cols=cols, precios=pp.ident, productos=p.ident, proveedores=prov_t.ident,
        pid=p.col("id"), vid=prov_t.col("id"), prod=pp.col("producto_id"), prov=pp.col("proveedor_id"),
    )
    total, rows = db.sample(query)
    finding.at_most(
        total,
        thresholds.orphan_prices_max_count,
        threshold_name="orphan_prices_max_count",
        measured=f"{pp.qualified} rows pointing at no product or no supplier ('falta' says which)",
        rows=rows,
        rows_total=total,
        remediation="Restore the missing products or suppliers (a restore with triggers off or a dropped foreign "
        "key lets these in); only then delete prices confirmed as garbage. The runbook's DELETE ... NOT IN is a "
        "repair, not a check (errata 8)",
        runbook="6.1",
    )
