import pytest
from psycopg import sql


@pytest.mark.daily
@pytest.mark.severity("alta")
def test_dangling_category_parent(db, schema, thresholds, finding):
    """Categories whose parent_id points at no category (runbook 3.3 step 5, errata 6)."""
    c = schema.table("categorias")
    query = sql.SQL("""
        SELECT c.{id} AS id, c.{codigo} AS codigo, c.{nombre} AS nombre, c.{parent} AS parent_id,
               count(*) OVER () AS total
          FROM {categorias} c
         WHERE c.{parent} IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM {categorias} p WHERE p.{id} = c.{parent})
         ORDER BY c.{codigo}
         LIMIT 10
    """).format(id=c.col("id"), codigo=c.col("codigo"), nombre=c.col("nombre"), parent=c.col("parent_id"),
                categorias=c.ident)
    total, rows = db.sample(query)
    finding.at_most(
        total,
        thresholds.dangling_category_parents_max_count,
        threshold_name="dangling_category_parents_max_count",
        measured=f"categories whose {c.colname('parent_id')} points at no category",
        rows=rows,
        rows_total=total,
        remediation="Restore the missing parent categories or re-point these at an existing parent (or NULL for "
        "a root, with nivel = 1); then check the parent_id foreign key (foreign_keys_present)",
        runbook="3.3",
    )
