import pytest
from psycopg import sql


@pytest.mark.daily
@pytest.mark.severity("media")
def test_expired_vigente_prices(db, schema, thresholds, finding):
    """Prices still marked vigente whose fecha_vigencia_hasta is in the past."""
    pp = schema.table("precios_proveedor")
    query = sql.SQL("""
        SELECT pp.{id} AS id, pp.{prod} AS producto_id, pp.{prov} AS proveedor_id, pp.{precio} AS precio_compra,
               pp.{hasta} AS fecha_vigencia_hasta, count(*) OVER () AS total
          FROM {precios} pp
         WHERE pp.{vig}
           AND pp.{hasta} < now()
         ORDER BY pp.{hasta}, pp.{prod}, pp.{prov}
         LIMIT 10
    """).format(id=pp.col("id"), prod=pp.col("producto_id"), prov=pp.col("proveedor_id"),
                precio=pp.col("precio_compra"), hasta=pp.col("fecha_vigencia_hasta"), vig=pp.col("es_precio_vigente"),
                precios=pp.ident)
    total, rows = db.sample(query)
    finding.at_most(
        total,
        thresholds.expired_vigente_prices_max_count,
        threshold_name="expired_vigente_prices_max_count",
        measured=f"vigente prices of {pp.qualified} whose {pp.colname('fecha_vigencia_hasta')} is past",
        rows=rows,
        rows_total=total,
        remediation="Load the supplier's current price for these pairs (or set es_precio_vigente = false): "
        "comparisons and margins are computed from prices that no longer hold",
        runbook="3.3",
    )
