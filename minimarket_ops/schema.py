"""The schema map resolved against a target: names from configuration, drift as *not run*.

Checks never spell a table or column name: they ask the map (`schema.table("productos")`,
`t.col("categoria_id")`), get `psycopg.sql` identifiers, and a name the target lacks stops
the check with "schema drift: <object> missing" before any query runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from psycopg import sql

from minimarket_ops.config import TableMap
from minimarket_ops.finding import NotRun

CATALOG_QUERY = """
SELECT n.nspname AS schema_name, c.relname AS table_name, a.attname AS column_name
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND (n.nspname, c.relname) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
"""


@dataclass
class Table:
    key: str
    map: TableMap
    present_columns: set[str]

    @property
    def qualified(self) -> str:
        return f"{self.map.schema_name}.{self.map.name}"

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.map.schema_name, self.map.name)

    def colname(self, key: str) -> str:
        try:
            return self.map.columns[key]
        except KeyError:
            # A suite bug, not drift: the check asked for a column the map does not define.
            raise KeyError(f"schema map {self.key!r} defines no column {key!r}") from None

    def col(self, key: str, alias: str | None = None) -> sql.Identifier:
        name = self.colname(key)
        if name not in self.present_columns:
            raise NotRun(f"schema drift: column {self.qualified}.{name} missing")
        return sql.Identifier(alias, name) if alias else sql.Identifier(name)

    def has(self, key: str) -> bool:
        return self.colname(key) in self.present_columns


@dataclass
class SchemaMap:
    maps: dict[str, TableMap]
    present: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, db, maps: dict[str, TableMap]) -> "SchemaMap":
        schemas = [m.schema_name for m in maps.values()]
        names = [m.name for m in maps.values()]
        present: dict[tuple[str, str], set[str]] = {}
        with db.transaction() as conn:
            for schema_name, table_name, column_name in conn.execute(CATALOG_QUERY, (schemas, names)):
                cols = present.setdefault((schema_name, table_name), set())
                if column_name:
                    cols.add(column_name)
        return cls(maps, present)

    def table(self, key: str) -> Table:
        try:
            m = self.maps[key]
        except KeyError:
            raise KeyError(f"schema map defines no table {key!r}") from None
        cols = self.present.get((m.schema_name, m.name))
        if cols is None:
            raise NotRun(f"schema drift: table {m.schema_name}.{m.name} missing")
        return Table(key, m, cols)

    def missing(self) -> list[str]:
        """Every mapped table or column the target lacks (for the schema manifest check)."""
        out = []
        for m in self.maps.values():
            cols = self.present.get((m.schema_name, m.name))
            if cols is None:
                out.append(f"table {m.schema_name}.{m.name}")
                continue
            out.extend(f"column {m.schema_name}.{m.name}.{c}" for c in m.columns.values() if c not in cols)
        return out
