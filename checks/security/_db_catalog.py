"""Catalog pieces shared by the database security checks (not a check: no test_ prefix).

The checks judge the catalogs (pg_class, pg_policy, pg_proc, has_*_privilege), so they hold
for every table and function the system grows, not only for the ones named today. Catalog
names are written directly; configured names (schemas, roles, allow lists) go in as
parameters. Correct on PostgreSQL 15-17.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from minimarket_ops.config import SecuritySettings, TableMap
from minimarket_ops.vocabulary import Severity

# The privileges that let a PostgREST request read or write rows (TRUNCATE is not an API verb).
ROW_PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE"]

# "schema.name(argtypes)" with the argument types only (no names), as the allow list spells it.
FUNCTION_SIGNATURE = """(n.nspname || '.' || p.proname || '(' || coalesce((
    SELECT string_agg(pg_catalog.format_type(a.t, NULL), ', ' ORDER BY a.i)
      FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(t, i)), '') || ')')"""

# Objects that belong to an extension are judged by extensions_in_exposed_schemas.
NOT_EXTENSION_MEMBER = """NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_depend d
     WHERE d.classid = '{catalog}'::regclass AND d.objid = {oid} AND d.deptype = 'e')"""


def existing_roles(db, names: Iterable[str]) -> list[str]:
    rows = db.rows("SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY(%s) ORDER BY rolname",
                   (list(names),), limit=100)
    return [r["rolname"] for r in rows]


def api_roles(db, security: SecuritySettings) -> list[str]:
    """The configured API roles this database has; none means it is not behind PostgREST."""
    roles = existing_roles(db, security.api_roles)
    if not roles:
        pytest.skip(f"none of the API roles ({', '.join(security.api_roles)}) exists in this database: "
                    "not a PostgREST/Supabase database")
    return roles


def anon_role(db, security: SecuritySettings) -> str:
    if not existing_roles(db, [security.anon_role]):
        pytest.skip(f"no role {security.anon_role!r} (security.anon_role) in this database: "
                    "not a PostgREST/Supabase database")
    return security.anon_role


def qualified_names(entries: Iterable[str], schema_map: Mapping[str, TableMap]) -> tuple[list[str], list[str]]:
    """Allow-list entries (schema-map keys or "schema.table") as parallel schema/name arrays."""
    schemas, names = [], []
    for e in entries:
        if e in schema_map:
            schemas.append(schema_map[e].schema_name)
            names.append(schema_map[e].name)
        else:
            schema, _, name = e.partition(".")
            schemas.append(schema)
            names.append(name)
    return schemas, names


def none_allowed(
    finding,
    total: int,
    rows: list[dict[str, Any]],
    *,
    measured: str,
    remediation: str,
    runbook: str | None = None,
    allowed_by: str | None = None,
    threshold: str | None = None,
    level: Severity | None = None,
    personal: Iterable[str] = (),
) -> None:
    """Zero tolerance: `total, rows` as `db.sample` returns them; any row fails the check.

    The threshold reads "0" (" outside security.<allowed_by>" with an allow list) unless
    `threshold` gives the whole text."""
    if threshold is None:
        threshold = "0" + (f" outside security.{allowed_by}" if allowed_by else "")
    if total:
        finding.fail(
            measured=measured, value=total, threshold=threshold, rows=rows, rows_total=total,
            remediation=remediation, runbook=runbook, level=level, personal=personal,
        )
    finding.record(measured=measured, value=0, threshold=threshold, ok=True)
