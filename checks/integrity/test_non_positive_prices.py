import pytest
from psycopg import sql


@pytest.mark.daily
@pytest.mark.severity("alta")
def test_non_positive_prices(db, schema, thresholds, finding):
    """Vigente supplier prices with precio_compra <= 0 (TARGET-SYSTEM: precio_compra > 0)."""
    pp = schema.table("precios_proveedor")
    query = sql.SQL("""
        SELECT pp.{id} AS id, pp.{prod} AS producto_id, pp.{prov} AS proveedor_id, pp.{precio} AS precio_compra,
               pp.{desde} AS fecha_vigencia_desde, count(*) OVER () AS total
          FROM {precios} pp
         WHERE pp.{vig}
           AND pp.{precio} <= 0
         ORDER BY pp.{precio}, pp.{prod}, pp.{prov}
         LIMIT 10
    """).format(id=pp.col("id"), prod=pp.col("producto_id"), prov=pp.col("proveedor_id"),
                precio=pp.col("precio_compra"), desde=pp.col("fecha_vigencia_desde"), vig=pp.col("es_precio_vigente"),
                precios=pp.ident)
    total, rows = db.sample(query)
    finding.at_most(
        total,
        thresholds.non_positive_prices_max_count,
        threshold_name="non_positive_prices_max_count",
        measured=f"vigente prices of {pp.qualified} with {pp.colname('precio_compra')} <= 0",
        rows=rows,
        rows_total=total,
        remediation="Re-read these prices from the supplier (a scraping or list-import error is the usual cause) "
        "and check that the CHECK (precio_compra > 0) constraint is in place",
        runbook="3.3",
    )
