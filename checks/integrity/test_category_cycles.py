import pytest
from psycopg import sql

from minimarket_ops.finding import NotRun


@pytest.mark.daily
@pytest.mark.severity("alta")
def test_category_cycles(db, schema, thresholds, finding):
    """Categories that are their own ancestor: a cycle in the tree (errata 6: the runbook never checks)."""
    c = schema.table("categorias")
    # Walk up from every category that has a parent. Each step stops when it would revisit a
    # category already on its path (cycle detection), at a root, at a dangling parent, or at
    # the depth bound; a walk that comes back to its start is a cycle.
    query = sql.SQL("""
        WITH RECURSIVE up (start, ancestor, depth, path) AS (
            SELECT c.{id}, c.{parent}, 1, ARRAY[c.{id}]
              FROM {categorias} c
             WHERE c.{parent} IS NOT NULL
            UNION ALL
            SELECT up.start, p.{parent}, up.depth + 1, up.path || p.{id}
              FROM up
              JOIN {categorias} p ON p.{id} = up.ancestor
             WHERE up.ancestor <> ALL (up.path)
               AND p.{parent} IS NOT NULL
               AND up.depth < {max_depth}
        ), verdict AS (
            SELECT start,
                   bool_or(ancestor = start) AS in_cycle,
                   bool_or(depth = {max_depth} AND ancestor <> ALL (path)) AS too_deep,
                   max(depth) FILTER (WHERE ancestor = start) AS cycle_length
              FROM up
             GROUP BY start
        )
        SELECT v.start AS id, c.{codigo} AS codigo, c.{nombre} AS nombre, v.cycle_length,
               (SELECT string_agg(k.{codigo}, ' -> ' ORDER BY w.ord) || ' -> ' || c.{codigo}
                  FROM up u
                  CROSS JOIN LATERAL unnest(u.path) WITH ORDINALITY AS w(cid, ord)
                  JOIN {categorias} k ON k.{id} = w.cid
                 WHERE u.start = v.start AND u.ancestor = v.start) AS ciclo,
               v.in_cycle, v.too_deep,
               count(*) FILTER (WHERE v.in_cycle) OVER () AS total,
               count(*) FILTER (WHERE v.too_deep AND NOT v.in_cycle) OVER () AS undecided
          FROM verdict v
          JOIN {categorias} c ON c.{id} = v.start
         WHERE v.in_cycle OR v.too_deep
         ORDER BY v.in_cycle DESC, c.{codigo}
         LIMIT 10
    """).format(id=c.col("id"), parent=c.col("parent_id"), codigo=c.col("codigo"), nombre=c.col("nombre"),
                categorias=c.ident, max_depth=sql.Literal(thresholds.category_tree_max_depth_count))
    total, rows = db.sample(query)
    undecided = rows[0]["undecided"] if rows else 0
    cycles = [{k: r[k] for k in ("id", "codigo", "nombre", "cycle_length", "ciclo")} for r in rows if r["in_cycle"]]
    finding.at_most(
        total,
        thresholds.category_cycles_max_count,
        threshold_name="category_cycles_max_count",
        measured=f"categories of {c.qualified} that are their own ancestor",
        rows=cycles,
        rows_total=total,
        remediation="Break each cycle: set the parent_id of the category that should be a root to NULL (nivel 1) "
        "or re-point it at its real parent; reports and the API walk this tree and loop or drop rows on a cycle",
        runbook="3.3",
    )
    if undecided:
        raise NotRun(f"{undecided} category walks reached category_tree_max_depth_count = "
                     f"{thresholds.category_tree_max_depth_count} without reaching a root: raise it")
