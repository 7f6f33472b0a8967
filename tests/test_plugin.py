"""The plugin: the gate selection, the six outcomes kept apart, exit codes, read-only."""

import re
import textwrap

import psycopg
import pytest

from minimarket_ops.config import DatabaseSettings
from minimarket_ops.db import Database
from minimarket_ops.masking import Redactor
from tests.harness import REPO, run_pytest

# The gate column of the issues' tables: exactly these checks carry `critical`.
EXPECTED_GATE = {
    # foundation
    "database_reachable", "api_health", "products_without_category",
    # integrity
    "schema_manifest", "foreign_keys_present", "core_tables_populated", "stock_without_product",
    "prices_without_product_or_supplier", "duplicate_vigente_prices",
    # security
    "rls_on_exposed_tables", "anon_reaches_sensitive_tables", "protected_endpoints_require_auth",
}


def test_collect_only_critical_lists_exactly_the_gate_checks(tmp_path):
    r = run_pytest(["-p", "no:cacheprovider", "--collect-only", "-q", "-m", "critical",
                    "--rootdir", str(REPO), "-c", str(REPO / "pyproject.toml"), str(REPO / "checks")], {}, tmp_path)
    ids = {line.split("::")[-1].split("[")[0].removeprefix("test_") for line in r.output.splitlines() if "::" in line}
    assert ids == EXPECTED_GATE, r.output


SYNTHETIC = '''
import pytest
from minimarket_ops.finding import NotRun


@pytest.mark.daily
@pytest.mark.severity("alta")
def test_passes(db, finding):
    finding.at_most(db.scalar("SELECT 0"), 0, threshold_name="x_count", measured="zero", remediation="none")


@pytest.mark.daily
@pytest.mark.severity("alta")
def test_fails(db, finding):
    finding.at_most(db.scalar("SELECT 2"), 0, threshold_name="x_count", measured="two", remediation="fix it",
                    rows=[{"email": "ana.perez@example.com", "ip_address": "203.0.113.7", "n": 2}])


@pytest.mark.daily
@pytest.mark.severity("alta")
def test_writes(db):
    db.scalar("CREATE TABLE public.written_by_a_check (id int)")


@pytest.mark.daily
@pytest.mark.severity("media")
def test_crashes(db):
    1 / 0


@pytest.mark.daily
@pytest.mark.severity("media")
def test_times_out(db):
    db.scalar("SELECT pg_sleep(5)")


@pytest.mark.daily
@pytest.mark.severity("media")
def test_drifts(db, schema):
    schema.table("productos").col("categoria_id")


@pytest.mark.daily
@pytest.mark.severity("baja")
def test_skips(db):
    pytest.skip("the target has no pg_cron")


@pytest.mark.weekly
@pytest.mark.severity("baja")
def test_declared_not_applicable(db):
    raise AssertionError("must not run")
'''


@pytest.fixture
def project(tmp_path):
    (tmp_path / "checks" / "health").mkdir(parents=True)
    (tmp_path / "conftest.py").write_text((REPO / "conftest.py").read_text())
    # A module name of its own per test: in-process runs keep imported test modules cached.
    tag = re.sub(r"\W", "_", tmp_path.name)
    (tmp_path / "checks" / "health" / f"test_synthetic_{tag}.py").write_text(SYNTHETIC)
    return tmp_path


def test_the_six_outcomes_are_kept_apart(sandbox, project):
    creds = sandbox.credentials()
    creds["database_url"] = sandbox.admin_url(sandbox.database())  # a superuser: only read-only stops the write
    r = sandbox.run(
        "-m", "daily or weekly", rootdir=project, credentials=creds,
        target={"not_applicable": {"declared_not_applicable": "no such feature here"}},
        overlay={"database": {"statement_timeout_ms": 300},
                 "schema_map": {"productos": {"name": "productos_renamed", "columns": {"categoria_id": "categoria_id"}}}},
    )
    o = r.outcomes()
    assert o == {
        "passes": "pass", "fails": "fail", "writes": "error", "crashes": "error", "times_out": "not run",
        "drifts": "not run", "skips": "not applicable", "declared_not_applicable": "not applicable",
    }, r.output
    c = r.checks
    assert "ReadOnlySqlTransaction" in c["writes"]["reason"]
    assert c["times_out"]["reason"] == "statement timeout after 300 ms"
    assert c["drifts"]["reason"] == "schema drift: table public.productos_renamed missing"
    assert c["skips"]["reason"] == "the target has no pg_cron"
    assert c["declared_not_applicable"]["reason"] == "not applicable to target selftest: no such feature here"
    f = r.finding("fails")
    assert f["rows"] == [{"email": "a***@e***.com", "ip_address": "203.0.x.x", "n": 2}]
    assert r.doc["counts"] == {"pass": 1, "fail": 1, "silenced": 0, "not applicable": 2, "not run": 2, "error": 2}
    assert r.exit_code == 3  # a check errored: the suite is broken, not only the system sick
    with psycopg.connect(sandbox.admin_url(sandbox.database())) as conn:
        assert conn.execute("SELECT to_regclass('public.written_by_a_check')").fetchone()[0] is None


def test_exit_code_is_one_for_fail_and_not_run(sandbox, project):
    r = sandbox.run("-k", "fails or times_out", rootdir=project, overlay={"database": {"statement_timeout_ms": 300}})
    assert r.outcomes() == {"fails": "fail", "times_out": "not run"}
    assert r.exit_code == 1


def test_exit_code_is_zero_for_pass_and_not_applicable(sandbox, project):
    r = sandbox.run("-k", "passes or skips", rootdir=project)
    assert r.exit_code == 0, r.output


def test_nothing_selected_is_five(sandbox, project):
    assert sandbox.run("-k", "no_such_check", rootdir=project).exit_code == 5


def test_reports_that_cannot_be_written_make_the_suite_broken(sandbox, project, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    r = sandbox.run("-k", "passes", "--report-dir", str(blocker / "reports"), rootdir=project)
    assert r.exit_code == 3
    assert "SUITE ERROR: could not write results" in r.output


def test_malformed_check_is_a_suite_bug(sandbox, project):
    (project / "checks" / "health" / "test_bad_marks.py").write_text(textwrap.dedent('''
        import pytest

        @pytest.mark.severity("alta")
        def test_no_cadence():
            pass
    '''))
    r = sandbox.run("-k", "no_cadence", rootdir=project)
    assert r.exit_code == 3
    assert "needs exactly one cadence marker" in r.output


def test_read_only_connection_refuses_writes_even_for_a_superuser(sandbox):
    db = Database(sandbox.admin_url(sandbox.database()), DatabaseSettings(), Redactor())
    db.open()
    try:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            db.scalar("INSERT INTO public.alertas_sistema (tipo, mensaje, severidad) VALUES ('x', 'y', 'baja')")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            with db.transaction() as conn:
                conn.execute("SET default_transaction_read_only = off")
                conn.execute("DELETE FROM public.alertas_sistema")
        assert db.scalar("SELECT current_setting('application_name')") == "minimarket-ops"
        assert db.scalar("SELECT current_setting('statement_timeout')") == "10s"
    finally:
        db.close()


def test_a_broken_teardown_after_a_pass_makes_the_suite_broken(sandbox, project):
    (project / "checks" / "health" / "test_teardown.py").write_text(textwrap.dedent('''
        import pytest

        @pytest.fixture
        def leaky():
            yield
            raise RuntimeError("could not close the client")

        @pytest.mark.daily
        @pytest.mark.severity("baja")
        def test_passes_then_breaks(leaky, finding):
            finding.record(measured="m", value=0, threshold="0", ok=True)
    '''))
    r = sandbox.run("-k", "passes_then_breaks", rootdir=project)
    assert r.outcome("passes_then_breaks") == "pass"  # the check measured; its outcome stands
    assert r.exit_code == 3
    assert "SUITE ERROR: teardown after" in r.output and "could not close the client" in r.output


def test_a_remote_target_is_never_replaced_by_a_sandbox(tmp_path, monkeypatch):
    """`pytest .` (not only `pytest checks`) validates the target's environment first."""
    for var in ("DATABASE_URL", "SUPABASE_URL", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY"):
        monkeypatch.delenv(var, raising=False)
    r = run_pytest(["-p", "no:cacheprovider", "--target", "production", "--report-dir", str(tmp_path / "r"),
                    "--rootdir", str(REPO), "-c", str(REPO / "pyproject.toml"), "-k", "database_reachable",
                    str(REPO)], {}, tmp_path)
    assert r.exit_code == 4, r.output
    assert "environment variable DATABASE_URL is not set" in r.output
    assert r.doc is None

    from minimarket_ops.config import ConfigError, load_settings
    from minimarket_ops.run import RunState

    settings = load_settings()
    state = RunState(settings=settings, target_name="production", target=settings.targets["production"])
    with pytest.raises(ConfigError):
        state.credentials()
    assert state.sandbox is None


def test_the_api_client_refuses_writes_unless_the_target_allows_them():
    from minimarket_ops.http import Api, Budget

    api = Api("http://127.0.0.1:9", timeout_s=1, budget=Budget(5), anon_key=None, service_role_key=None,
              user_jwt=None)
    try:
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            with pytest.raises(RuntimeError, match=f"refused {method} /x: target target does not allow writes"):
                api.request(method, "/x")
        assert api.budget.used == 0
    finally:
        api.close()
