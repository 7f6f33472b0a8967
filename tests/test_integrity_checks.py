"""The integrity checks, each against the healthy sandbox and its fault, and schema drift.

Each fault run selects the whole daily and weekly set, so the same run shows that the
fault fails its own check and no other (one fault, one failing check).
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from minimarket_ops.sandbox import faults as registry

INTEGRITY_CHECKS = (
    "schema_manifest", "foreign_keys_present", "core_tables_populated", "products_without_category",
    "stock_without_product", "prices_without_product_or_supplier", "duplicate_vigente_prices",
    "dangling_category_parent", "category_cycles", "negative_stock", "stock_bounds", "non_positive_prices",
    "duplicate_barcodes_or_skus", "products_without_barcode", "expired_vigente_prices", "invalid_indexes",
    "unvalidated_constraints",
)


def query(sandbox, faults: tuple[str, ...], sql: str):
    """A value read straight from the fault's database (as superuser), to compare a finding with."""
    with psycopg.connect(sandbox.admin_url(sandbox.database(faults))) as conn:
        return conn.execute(sql).fetchone()[0]


@pytest.mark.parametrize("check", INTEGRITY_CHECKS)
def test_integrity_check_passes_on_healthy_sandbox(healthy_run, check):
    assert healthy_run.outcome(check) == "pass", healthy_run.checks[check]
    assert healthy_run.checks[check]["measurement"]["ok"] is True


def _schema_objects_missing(f, sb):
    assert f["value"] == 2 and f["threshold"] == "none missing"
    # In the order of the configuration: tables and columns of the map, then views, ..., indexes, functions.
    assert [r["object"] for r in f["rows"]] == ["view public.vista_alertas_activas",
                                                "index public.logs_scraping_timestamp_idx"]
    assert "vista_alertas_activas" in f["remediation"] and "logs_scraping_timestamp_idx" in f["remediation"]


def _foreign_key_missing(f, sb):
    assert f["value"] == 1 and f["threshold"] == "all present and validated"
    assert f["rows"] == [{"foreign_key": "public.stock_deposito.producto_id -> public.productos.id",
                          "problem": "missing", "constraint": None}]


def _foreign_key_not_valid(f, sb):
    assert f["value"] == 1 and f["threshold"] == "all present and validated"
    assert f["rows"] == [{"foreign_key": "public.precios_proveedor.proveedor_id -> public.proveedores.id",
                          "problem": "NOT VALID", "constraint": "precios_proveedor_proveedor_id_fkey"}]


def _core_table_empty(f, sb):
    assert f["value"] == 0 and f["threshold"] == "core_table_min_rows_count >= 1"
    assert f["rows"] == [{"tabla": "public.proveedores", "filas": 0}]


def _orphan_stock(f, sb):
    assert f["value"] == 2 and f["rows_total"] == 2 and f["threshold"] == "orphan_stock_max_count <= 0"
    assert {r["deposito"] for r in f["rows"]} == {"secundario"}
    assert all(r["producto_id"] and r["id"] for r in f["rows"])


def _orphan_prices(f, sb):
    assert f["value"] == 3 and f["rows_total"] == 3 and f["threshold"] == "orphan_prices_max_count <= 0"
    assert [r["falta"] for r in f["rows"]] == ["producto", "producto", "proveedor"]
    assert not any(r["es_precio_vigente"] for r in f["rows"])


def _duplicate_vigente_prices(f, sb):
    assert f["value"] == 2 and f["threshold"] == "duplicate_vigente_prices_max_count <= 0"
    assert [r["vigentes"] for r in f["rows"]] == [2, 2]
    assert "unique index" in f["measured"] and "is missing" in f["measured"]
    assert "CREATE UNIQUE INDEX CONCURRENTLY" in f["remediation"]


def _vigente_price_index_missing(f, sb):
    assert f["value"] == "missing" and f["rows"] == []
    assert f["threshold"] == "a valid unique index on (producto_id, proveedor_id) WHERE es_precio_vigente"


def _dangling_category_parent(f, sb):
    assert f["value"] == 1 and f["threshold"] == "dangling_category_parents_max_count <= 0"
    assert [(r["codigo"], bool(r["parent_id"])) for r in f["rows"]] == [("LIM-ROP", True)]


def _category_cycle(f, sb):
    assert f["value"] == 2 and f["threshold"] == "category_cycles_max_count <= 0"
    assert {r["codigo"]: r["ciclo"] for r in f["rows"]} == {"BEB": "BEB -> BEB-GAS -> BEB",
                                                            "BEB-GAS": "BEB-GAS -> BEB -> BEB-GAS"}
    assert {r["cycle_length"] for r in f["rows"]} == {2}


def _negative_stock(f, sb):
    assert f["value"] == 2 and f["threshold"] == "negative_stock_max_count <= 0"
    assert [r["stock_actual"] for r in f["rows"]] == [-4, -4]


def _inverted_stock_bounds(f, sb):
    assert f["value"] == 3 and f["threshold"] == "inverted_stock_bounds_max_count <= 0"
    assert all(r["stock_minimo"] == r["stock_maximo"] + 1 and r["deposito"] == "secundario" for r in f["rows"])


def _non_positive_prices(f, sb):
    # Three vigente prices; the historic price at 0 is not counted.
    assert f["value"] == 3 and f["threshold"] == "non_positive_prices_max_count <= 0"
    assert sorted(float(r["precio_compra"]) for r in f["rows"]) == [-10.0, 0.0, 0.0]


def _duplicate_skus(f, sb):
    assert f["value"] == 1 and f["threshold"] == "duplicate_identifiers_max_count <= 0"
    (row,) = f["rows"]
    assert row["campo"] == "sku" and row["productos"] == 3 and len(row["ids"]) == 3
    assert "unique constraint on public.productos.sku is missing" in f["measured"]


def _barcode_unique_missing(f, sb):
    assert f["value"] == "missing on public.productos.codigo_barras"
    assert f["threshold"] == "a valid unique index on each of codigo_barras, sku"


def _products_without_barcode(f, sb):
    faults = ("products_without_barcode",)
    expected = query(sb, faults, "SELECT round(100.0 * count(*) FILTER (WHERE codigo_barras IS NULL OR codigo_barras = '')"
                                 " / count(*), 1) FROM productos WHERE activo")
    assert f["value"].endswith(" %") and abs(float(f["value"].removesuffix(" %")) - float(expected)) < 0.051
    assert float(expected) > 10
    assert f["threshold"] == "products_without_barcode_max_pct <= 5 %"
    assert len(f["rows"]) == 10 and f["rows_total"] > 10
    # Errata 5: the empty barcode counts as missing too (the runbook's IS NULL AND != '' matches nothing).
    assert "" in [r["codigo_barras"] for r in f["rows"]] and None in [r["codigo_barras"] for r in f["rows"]]


def _expired_vigente_prices(f, sb):
    assert f["value"] == 4 and f["threshold"] == "expired_vigente_prices_max_count <= 0"
    assert len({r["fecha_vigencia_hasta"] for r in f["rows"]}) == 1


def _invalid_index(f, sb):
    assert f["value"] == 1 and f["threshold"] == "invalid_indexes_max_count <= 0"
    (row,) = f["rows"]
    assert (row["schema_name"], row["index_name"], row["table_name"]) == (
        "public", "tareas_pendientes_creado_por_idx", "tareas_pendientes")
    assert row["definition"].startswith("CREATE INDEX tareas_pendientes_creado_por_idx")


def _unvalidated_constraint(f, sb):
    assert f["value"] == 1 and f["threshold"] == "unvalidated_constraints_max_count <= 0"
    assert f["rows"] == [{"schema_name": "public", "on_object": "categorias", "constraint_name": "categorias_nivel_check",
                          "kind": "check", "definition": "CHECK ((nivel >= 1)) NOT VALID"}]


def _orphan_products(f, sb):
    assert f["value"] == 3 and f["rows_total"] == 3 and f["threshold"] == "orphan_products_max_count <= 0"
    assert all(row["categoria_id"] and row["sku"] for row in f["rows"])


FAULTS: dict[str, Callable] = {
    "schema_objects_missing": _schema_objects_missing,
    "orphan_products": _orphan_products,
    "foreign_key_missing": _foreign_key_missing,
    "foreign_key_not_valid": _foreign_key_not_valid,
    "core_table_empty": _core_table_empty,
    "orphan_stock": _orphan_stock,
    "orphan_prices": _orphan_prices,
    "duplicate_vigente_prices": _duplicate_vigente_prices,
    "vigente_price_index_missing": _vigente_price_index_missing,
    "dangling_category_parent": _dangling_category_parent,
    "category_cycle": _category_cycle,
    "negative_stock": _negative_stock,
    "inverted_stock_bounds": _inverted_stock_bounds,
    "non_positive_prices": _non_positive_prices,
    "duplicate_skus": _duplicate_skus,
    "barcode_unique_missing": _barcode_unique_missing,
    "products_without_barcode": _products_without_barcode,
    "expired_vigente_prices": _expired_vigente_prices,
    "invalid_index": _invalid_index,
    "unvalidated_constraint": _unvalidated_constraint,
}


def test_every_integrity_check_has_a_fault():
    assert {registry.get(name).check for name in FAULTS} == set(INTEGRITY_CHECKS)
    registered = {n for n, f in registry.all_faults().items() if f.check in INTEGRITY_CHECKS}
    assert registered == set(FAULTS)


@pytest.mark.parametrize("fault", FAULTS)
def test_integrity_fault_fails_its_check_and_no_other(sandbox, healthy_run, fault):
    check = registry.get(fault).check
    r = sandbox.run("-m", "daily or weekly", faults=(fault,))
    # Whatever does not pass on the healthy sandbox either is not this fault's doing (and is
    # caught by test_healthy_sandbox_every_check_passes_or_is_not_applicable).
    healthy_bad = {k for k, v in healthy_run.outcomes().items() if v not in ("pass", "not applicable")}
    not_passing = {k: v for k, v in r.outcomes().items() if v not in ("pass", "not applicable") and k not in healthy_bad}
    assert not_passing == {check: "fail"}, (not_passing, r.output)
    assert r.exit_code == 1
    f = r.finding(check)
    assert f["level"] == r.checks[check]["severity"]
    assert f["remediation"] and f["runbook"]
    FAULTS[fault](f, sandbox)


# -- schema drift ----------------------------------------------------------------------
# A renamed column, a dropped table (its views go with it) and a dropped foreign key.
DRIFT_SQL = """
ALTER TABLE productos RENAME COLUMN codigo_barras TO ean;
DROP TABLE stock_deposito CASCADE;
ALTER TABLE precios_proveedor DROP CONSTRAINT precios_proveedor_proveedor_id_fkey;
"""
FOLLOW_RENAME = {"schema_map": {"productos": {"columns": {"codigo_barras": "ean"}}}}
STOCK_MISSING = "schema drift: table public.stock_deposito missing"
BARCODE_MISSING = "schema drift: column public.productos.codigo_barras missing"


def _no_errors(r):
    errors = {k: v["reason"] for k, v in r.checks.items() if v["outcome"] == "error"}
    assert not errors, errors
    assert "Traceback" not in r.output
    assert r.exit_code == 1


def test_schema_drift_with_the_default_map(sandbox):
    r = sandbox.run("-m", "daily", setup_sql=DRIFT_SQL)
    _no_errors(r)
    o = r.outcomes()
    # One manifest finding naming every missing object.
    assert o["schema_manifest"] == "fail"
    f = r.finding("schema_manifest")
    assert [row["object"] for row in f["rows"]] == [
        "column public.productos.codigo_barras", "table public.stock_deposito",
        "view public.vista_productos_con_stock", "view public.vista_monitoreo_tiempo_real",
    ]
    assert f["value"] == 4
    # The dropped foreign key is found; the one on the dropped table could not be checked.
    assert o["foreign_keys_present"] == "fail"
    f = r.finding("foreign_keys_present")
    assert f["rows"][0] == {"foreign_key": "public.precios_proveedor.proveedor_id -> public.proveedores.id",
                            "problem": "missing", "constraint": None}
    assert f["rows"][1] == {"foreign_key": "stock_deposito.producto_id -> productos",
                            "problem": f"not checked: {STOCK_MISSING}", "constraint": None}
    # The checks that need a missing object are not run, with the object named.
    for check in ("stock_without_product", "negative_stock"):
        assert (o[check], r.checks[check]["reason"]) == ("not run", STOCK_MISSING)
    assert (o["duplicate_barcodes_or_skus"], r.checks["duplicate_barcodes_or_skus"]["reason"]) == (
        "not run", BARCODE_MISSING)
    # The integrity checks that need none of it still pass.
    for check in ("core_tables_populated", "products_without_category", "prices_without_product_or_supplier",
                  "duplicate_vigente_prices", "dangling_category_parent", "category_cycles", "non_positive_prices",
                  "expired_vigente_prices"):
        assert o[check] == "pass", (check, r.checks[check])
    # Every not-run check in the run says which object drifted.
    for c in r.checks.values():
        if c["outcome"] == "not run":
            assert c["reason"].startswith("schema drift: ") and c["reason"].endswith(" missing"), c


def test_schema_drift_with_a_map_that_follows_the_rename(sandbox):
    r = sandbox.run("-m", "daily", setup_sql=DRIFT_SQL, overlay=FOLLOW_RENAME)
    _no_errors(r)
    o = r.outcomes()
    # The renamed column is found through the map again; the dropped objects are still missing.
    assert o["duplicate_barcodes_or_skus"] == "pass", r.checks["duplicate_barcodes_or_skus"]
    f = r.finding("schema_manifest")
    assert [row["object"] for row in f["rows"]] == [
        "table public.stock_deposito", "view public.vista_productos_con_stock", "view public.vista_monitoreo_tiempo_real",
    ]
    assert o["foreign_keys_present"] == "fail"
    for check in ("stock_without_product", "negative_stock"):
        assert (o[check], r.checks[check]["reason"]) == ("not run", STOCK_MISSING)
    assert not any(c["reason"] == BARCODE_MISSING for c in r.checks.values())


def test_products_without_barcode_follows_a_renamed_column(sandbox):
    """The weekly barcode share reads the renamed column through the map."""
    setup = "ALTER TABLE productos RENAME COLUMN codigo_barras TO ean;"
    r = sandbox.run("-k", "products_without_barcode", setup_sql=setup)
    assert (r.outcome("products_without_barcode"), r.checks["products_without_barcode"]["reason"]) == (
        "not run", BARCODE_MISSING)
    r = sandbox.run("-k", "products_without_barcode", setup_sql=setup, overlay=FOLLOW_RENAME)
    assert r.outcome("products_without_barcode") == "pass", r.checks["products_without_barcode"]


def test_an_unknown_schema_map_key_in_an_expected_foreign_key_is_a_configuration_error(tmp_path):
    from tests.test_config import error_lines, run_with_overlay

    r = run_with_overlay(tmp_path, {"schema_objects": {"foreign_keys": ["productos.categoria -> categorias"]}})
    assert r.exit_code == 4, r.output
    (line,) = error_lines(r.output)
    assert line == ("ERROR: configuration: schema_objects.foreign_keys[0] (productos.categoria -> categorias): "
                    "schema_map.productos defines no column 'categoria'")
    r = run_with_overlay(tmp_path, {"schema_objects": {"foreign_keys": ["productos -> categorias"]}})
    assert r.exit_code == 4
    assert "expected 'table.column -> table' (schema map keys)" in error_lines(r.output)[0]
