import pytest
from psycopg import sql

from checks.integrity._catalog import unique_indexes


@pytest.mark.daily
@pytest.mark.critical
@pytest.mark.severity("critica")
def test_duplicate_vigente_prices(db, schema, thresholds, finding):
    """At most one vigente price per (product, supplier), and the partial unique index that keeps it so (runbook 3.3 step 4, errata 9)."""
    pp = schema.table("precios_proveedor")
    prod, prov, vig = pp.col("producto_id"), pp.col("proveedor_id"), pp.col("es_precio_vigente")
    query = sql.SQL("""
        SELECT {prod} AS producto_id, {prov} AS proveedor_id, count(*) AS vigentes,
               min({desde}) AS primera_vigencia, max({desde}) AS ultima_vigencia,
               count(*) OVER () AS total
          FROM {precios}
         WHERE {vig}
         GROUP BY {prod}, {prov}
        HAVING count(*) > 1
         ORDER BY count(*) DESC, {prod}, {prov}
         LIMIT 10
    """).format(prod=prod, prov=prov, vig=vig, desde=pp.col("fecha_vigencia_desde"), precios=pp.ident)
    keys = f"({pp.colname('producto_id')}, {pp.colname('proveedor_id')}) WHERE {pp.colname('es_precio_vigente')}"
    index_def = f"a valid unique index on {keys}"
    create = (f"CREATE UNIQUE INDEX CONCURRENTLY ... ON {pp.qualified} {keys} "
              "(errata 9: the published CHECK with a subquery cannot exist)")
    limit = thresholds.duplicate_vigente_prices_max_count
    guard = [i["index_name"] for i in unique_indexes(
        db, pp.map.schema_name, pp.map.name, [pp.colname("producto_id"), pp.colname("proveedor_id")],
        flag=pp.colname("es_precio_vigente"))
        if i["valid"] and (i["predicate"] is None or i["predicate_is_flag"])]
    measured = f"(product, supplier) pairs of {pp.qualified} with more than one vigente price"
    if guard:
        # A valid unique index makes duplicates impossible: no need to group half a million rows.
        finding.at_most(0, limit, threshold_name="duplicate_vigente_prices_max_count",
                        measured=f"{measured} (none possible: guarded by {guard[0]})", remediation="")
        return
    total, rows = db.sample(query)
    if total <= limit:
        finding.fail(
            measured=f"unique index guarding one vigente price per (product, supplier) on {pp.qualified}",
            value="missing",
            threshold=index_def,
            rows=rows,
            rows_total=total,
            remediation=f"No duplicates above the threshold yet, but nothing stops them: {create}",
            runbook="3.3",
        )
    finding.at_most(
        total,
        limit,
        threshold_name="duplicate_vigente_prices_max_count",
        measured=f"{measured} (and {index_def} is missing)",
        rows=rows,
        rows_total=total,
        remediation="Keep the newest vigente price of each pair and set es_precio_vigente = false on the others, "
        f"then {create}",
        runbook="3.3",
    )
