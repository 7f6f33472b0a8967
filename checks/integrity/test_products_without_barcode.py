import pytest
from psycopg import sql

from minimarket_ops.finding import NotRun


@pytest.mark.weekly
@pytest.mark.severity("media")
def test_products_without_barcode(db, schema, thresholds, finding):
    """Share of active products with a NULL or empty barcode (runbook 3.3 step 5, errata 5: IS NULL OR = '')."""
    p = schema.table("productos")
    cb, activo = p.col("codigo_barras"), p.col("activo")
    # One pass for the share; the sample is a second, LIMITed read.
    share = sql.SQL("""
        SELECT count(*) AS activos,
               count(*) FILTER (WHERE p.{cb} IS NULL OR btrim(p.{cb}) = '') AS sin_codigo
          FROM {productos} p
         WHERE p.{activo}
    """).format(cb=cb, activo=activo, productos=p.ident)
    sample = sql.SQL("""
        SELECT p.{id} AS id, p.{sku} AS sku, p.{nombre} AS nombre, p.{cb} AS codigo_barras
          FROM {productos} p
         WHERE p.{activo} AND (p.{cb} IS NULL OR btrim(p.{cb}) = '')
         ORDER BY p.{sku}
         LIMIT 10
    """).format(id=p.col("id"), sku=p.col("sku"), nombre=p.col("nombre"), cb=cb, activo=activo, productos=p.ident)
    counts = db.row(share)
    if not counts["activos"]:
        raise NotRun(f"{p.qualified} has no active products: the share is undefined (see core_tables_populated)")
    pct = round(100.0 * counts["sin_codigo"] / counts["activos"], 1)
    limit = thresholds.products_without_barcode_max_pct
    rows = db.rows(sample) if pct > limit else []
    finding.at_most(
        pct,
        limit,
        threshold_name="products_without_barcode_max_pct",
        unit=" %",
        measured=f"active products of {p.qualified} with a NULL or empty {p.colname('codigo_barras')} "
        f"({counts['sin_codigo']} of {counts['activos']})",
        rows=rows,
        rows_total=counts["sin_codigo"],
        remediation="Load the missing EAN codes (loose, store-packed goods legitimately have none: raise the "
        "ceiling if that share grew on purpose); products without a code cannot be scanned or matched to the "
        "supplier's catalogue",
        runbook="3.3",
    )
