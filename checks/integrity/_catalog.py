"""Read-only catalog lookups shared by the integrity checks (not a check: no test_ prefix).

Catalog names (pg_constraint, pg_index, ...) are written directly; the domain tables and
columns they are asked about come from the schema map. Correct on PostgreSQL 15-17.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from minimarket_ops.config import ForeignKeyRef
from minimarket_ops.finding import NotRun
from minimarket_ops.schema import SchemaMap

# Expected foreign keys matched by what they connect (single-column, as the schema has them).
FOREIGN_KEYS_QUERY = """
SELECT e.i, c.oid AS constraint_oid, c.conname, c.convalidated
  FROM unnest(%(i)s::int[], %(sch)s::text[], %(tbl)s::text[], %(col)s::text[],
              %(rsch)s::text[], %(rtbl)s::text[], %(rcol)s::text[]) AS e(i, sch, tbl, col, rsch, rtbl, rcol)
  JOIN pg_catalog.pg_namespace n ON n.nspname = e.sch
  JOIN pg_catalog.pg_class t ON t.relnamespace = n.oid AND t.relname = e.tbl
  JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attname = e.col AND NOT a.attisdropped
  JOIN pg_catalog.pg_namespace rn ON rn.nspname = e.rsch
  JOIN pg_catalog.pg_class r ON r.relnamespace = rn.oid AND r.relname = e.rtbl
  JOIN pg_catalog.pg_attribute ra ON ra.attrelid = r.oid AND ra.attname = e.rcol AND NOT ra.attisdropped
  JOIN pg_catalog.pg_constraint c
    ON c.contype = 'f' AND c.conrelid = t.oid AND c.confrelid = r.oid
   AND c.conkey = ARRAY[a.attnum] AND c.confkey = ARRAY[ra.attnum]
 ORDER BY e.i, c.convalidated DESC, c.conname
"""

# Unique indexes whose key columns are exactly the given set (any order), plain columns only.
UNIQUE_INDEXES_QUERY = """
SELECT ic.relname AS index_name, i.indisvalid, pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS predicate,
       -- the predicate is exactly "WHERE <flag>" (or "<flag> = true"), as pg_get_expr prints it
       coalesce(pg_catalog.pg_get_expr(i.indpred, i.indrelid)
                IN (quote_ident(%(flag)s), '(' || quote_ident(%(flag)s) || ' = true)'), false) AS predicate_is_flag
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
 WHERE n.nspname = %(schema)s AND t.relname = %(table)s
   AND i.indisunique AND i.indexprs IS NULL AND i.indnkeyatts = cardinality(%(cols)s::text[])
   AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text)
          FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
         WHERE k.ord <= i.indnkeyatts)
       = (SELECT array_agg(c ORDER BY c) FROM unnest(%(cols)s::text[]) AS c)
 ORDER BY ic.relname
"""


@dataclass
class ResolvedForeignKey:
    ref: ForeignKeyRef
    schema_name: str    # the referencing side, as the target names it
    table: str
    column: str
    ref_schema_name: str
    ref_table: str
    ref_column: str

    @property
    def label(self) -> str:
        return (f"{self.schema_name}.{self.table}.{self.column} -> "
                f"{self.ref_schema_name}.{self.ref_table}.{self.ref_column}")


def resolve_foreign_keys(
    schema: SchemaMap, refs: list[ForeignKeyRef]
) -> tuple[list[ResolvedForeignKey], list[tuple[ForeignKeyRef, str]]]:
    """The expected foreign keys through the schema map; those whose tables or columns the
    target lacks come back with their drift reason instead (no SQL has run)."""
    resolved, drift = [], []
    for ref in refs:
        try:
            t, r = schema.table(ref.table), schema.table(ref.references)
            t.col(ref.column), r.col(ref.ref_column)
        except NotRun as exc:
            drift.append((ref, exc.reason))
            continue
        resolved.append(ResolvedForeignKey(ref, t.map.schema_name, t.map.name, t.colname(ref.column),
                                           r.map.schema_name, r.map.name, r.colname(ref.ref_column)))
    return resolved, drift


def foreign_key_matches(db, fks: list[ResolvedForeignKey]) -> dict[int, list[dict[str, Any]]]:
    """For each resolved foreign key (by position), the constraints that implement it."""
    if not fks:
        return {}
    params = {
        "i": list(range(len(fks))),
        "sch": [f.schema_name for f in fks], "tbl": [f.table for f in fks], "col": [f.column for f in fks],
        "rsch": [f.ref_schema_name for f in fks], "rtbl": [f.ref_table for f in fks],
        "rcol": [f.ref_column for f in fks],
    }
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in range(len(fks))}
    with db.transaction() as conn:
        for i, oid, conname, validated in conn.execute(FOREIGN_KEYS_QUERY, params):
            out[i].append({"oid": oid, "conname": conname, "validated": validated})
    return out


def unique_indexes(db, schema_name: str, table: str, columns: list[str], flag: str | None = None) -> list[dict[str, Any]]:
    """Unique indexes on exactly these columns of the table: name, validity, predicate, and
    whether the predicate is exactly the boolean column `flag` (a partial "WHERE flag" index)."""
    params = {"schema": schema_name, "table": table, "cols": columns, "flag": flag}
    with db.transaction() as conn:
        cur = conn.execute(UNIQUE_INDEXES_QUERY, params)
        return [{"index_name": n, "valid": v, "predicate": p, "predicate_is_flag": f} for n, v, p, f in cur]
