import pytest
from psycopg import sql

from checks.integrity._catalog import unique_indexes

IDENTIFIERS = ("codigo_barras", "sku")


@pytest.mark.daily
@pytest.mark.severity("alta")
def test_duplicate_barcodes_or_skus(db, schema, thresholds, finding):
    """Active products sharing a non-empty barcode or SKU, and the unique constraints that prevent it (TARGET-SYSTEM)."""
    p = schema.table("productos")
    cols = {k: p.col(k) for k in IDENTIFIERS}
    limit = thresholds.duplicate_identifiers_max_count
    # A column with a valid, non-partial unique index cannot hold duplicates: only the others are scanned.
    unguarded = [k for k in IDENTIFIERS
                 if not any(i["valid"] and i["predicate"] is None
                            for i in unique_indexes(db, p.map.schema_name, p.map.name, [p.colname(k)]))]
    measured = "barcodes or SKUs shared by more than one active product"
    if not unguarded:
        finding.at_most(0, limit, threshold_name="duplicate_identifiers_max_count",
                        measured=f"{measured} (none possible: unique indexes on {', '.join(map(p.colname, IDENTIFIERS))})",
                        remediation="")
        return
    missing = ", ".join(f"{p.qualified}.{p.colname(k)}" for k in unguarded)
    # One grouped pass per unguarded identifier (UNION ALL); empty and blank values mean "no code", not a duplicate.
    branches = [
        sql.SQL("""
            SELECT {campo} AS campo, p.{c} AS valor, count(*) AS productos,
                   (array_agg(p.{id} ORDER BY p.{id}))[1:5] AS ids
              FROM {productos} p
             WHERE p.{activo} AND p.{c} IS NOT NULL AND btrim(p.{c}) <> ''
             GROUP BY p.{c}
            HAVING count(*) > 1
        """).format(campo=sql.Literal(p.colname(k)), c=cols[k], id=p.col("id"), activo=p.col("activo"),
                    productos=p.ident)
        for k in unguarded
    ]
    query = sql.SQL(
        "SELECT d.*, count(*) OVER () AS total FROM ({}) d ORDER BY d.productos DESC, d.campo, d.valor LIMIT 10"
    ).format(sql.SQL(" UNION ALL ").join(branches))
    total, rows = db.sample(query)
    restore = f"restore the unique constraint on {missing} (ALTER TABLE ... ADD CONSTRAINT ... UNIQUE)"
    if total <= limit:
        finding.fail(
            measured=f"unique constraints on the product identifiers of {p.qualified}",
            value=f"missing on {missing}",
            threshold="a valid unique index on each of " + ", ".join(p.colname(k) for k in IDENTIFIERS),
            rows=rows,
            rows_total=total,
            remediation=f"No duplicates above the threshold yet, but nothing stops them: {restore}",
            runbook="3.3",
        )
    finding.at_most(
        total,
        limit,
        threshold_name="duplicate_identifiers_max_count",
        measured=f"{measured} (and the unique constraint on {missing} is missing)",
        rows=rows,
        rows_total=total,
        remediation="Find which product each shared code really belongs to and correct the others (scanning at "
        f"the till picks an arbitrary one); then {restore}",
        runbook="3.3",
    )
