"""Bad configuration stops the run before any check with one line naming the key."""

import pytest

from tests.harness import REPO, run_pytest, to_toml


def run_with_overlay(tmp_path, overlay: dict | str, *args, env=None):
    cfg = tmp_path / "overlay.toml"
    cfg.write_text(overlay if isinstance(overlay, str) else to_toml(overlay))
    argv = ["-p", "no:cacheprovider", "--config", str(cfg), "--report-dir", str(tmp_path / "reports"),
            "--rootdir", str(REPO), "-c", str(REPO / "pyproject.toml"), *args, str(REPO / "checks")]
    return run_pytest(argv, env or {}, tmp_path / "reports")


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("ERROR:")]


@pytest.mark.parametrize("overlay,args,expected", [
    ({}, ["--target", "nope"], "ERROR: configuration: --target: unknown target 'nope' (configured: production, sandbox, staging)"),
    ({"thresholds": {"api_health_p95_ms": "fast"}}, [], "ERROR: configuration: thresholds.api_health_p95_ms: Input should be a valid number, unable to parse string as a number (got 'fast')"),
    ({"thresholds": {"api_health_p95_ms": -5}}, [], "ERROR: configuration: thresholds.api_health_p95_ms: Input should be greater than 0 (got -5)"),
    ({"thresholds": {"api_helth_p95_ms": 100}}, [], "ERROR: configuration: thresholds.api_helth_p95_ms: unknown key"),
    ({"database": {"statement_timeout_ms": 0}}, [], "ERROR: configuration: database.statement_timeout_ms: Input should be greater than 0 (got 0)"),
    ({"targets": {"sandbox": {"thresholds": {"orphan_products_max_count": -1}}}}, [],
     "ERROR: configuration: targets.sandbox.thresholds.orphan_products_max_count: Input should be greater than or equal to 0 (got -1)"),
    ({"targets": {"x": {"kind": "remote", "supabase_url": "ftp://h"}}}, ["--target", "x"],
     "ERROR: configuration: targets.x.supabase_url: Value error, must start with http:// or https:// (got 'ftp://h')"),
    ({"targets": {"x": {"kind": "remote", "database_url_env": "postgresql://ops:S3cretPw@db.example/postgres"}}},
     ["--target", "x"], "ERROR: configuration: targets.x.database_url_env: Value error, must be the name of an "
     "environment variable (letters, digits, _), not its value (got 'postgresql://ops:«redacted»@db.example/"),
    ({"targets": {"x": {"kind": "remote", "supabase_url": "htps://svc:S3cretPw@x.supabase.co"}}}, ["--target", "x"],
     "ERROR: configuration: targets.x.supabase_url: Value error, must start with http:// or https:// (got '«redacted»"),
    ({"targets": {"production": {"allow_writes": True}}}, ["--target", "production"],
     "ERROR: configuration: targets.production: Value error, allow_writes is for staging targets"),
    ({}, ["--fault", "no_such_fault"], "ERROR: configuration: --fault: unknown fault 'no_such_fault'"),
    ({}, ["--target", "production", "--fault", "orphan_products"],
     "ERROR: configuration: --fault: target 'production' is not a sandbox; faults exist only there"),
])
def test_bad_configuration_is_one_line(tmp_path, overlay, args, expected):
    r = run_with_overlay(tmp_path, overlay, *args)
    assert r.exit_code == 4, r.output
    lines = error_lines(r.output)
    assert len(lines) == 1, r.output
    assert lines[0].startswith(expected), lines[0]
    assert "Traceback" not in r.output and "S3cretPw" not in r.output
    assert r.doc is None  # no check ran


def test_not_valid_toml(tmp_path):
    r = run_with_overlay(tmp_path, "[thresholds\napi = 1\n")
    assert r.exit_code == 4
    assert len(error_lines(r.output)) == 1 and "not valid TOML" in r.output


def test_missing_secret_names_the_variable_not_a_value(tmp_path, monkeypatch):
    for var in ("DATABASE_URL", "SUPABASE_URL", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY"):
        monkeypatch.delenv(var, raising=False)
    secret = "postgresql://ops:S3cr3t-Value-XYZ@db.example:5432/postgres"
    r = run_with_overlay(tmp_path, {}, "--target", "production", env={"DATABASE_URL": secret})
    assert r.exit_code == 4
    (line,) = error_lines(r.output)
    assert "targets.production.supabase_url_env: environment variable SUPABASE_URL is not set" in line
    assert "SUPABASE_SERVICE_ROLE_KEY is not set" in line
    assert "S3cr3t" not in r.output


def test_environment_variable_overrides_threshold(tmp_path, monkeypatch):
    from minimarket_ops.config import load_settings

    monkeypatch.setenv("MINIMARKET_OPS__THRESHOLDS__API_HEALTH_P95_MS", "321")
    assert load_settings().thresholds.api_health_p95_ms == 321
    monkeypatch.setenv("MINIMARKET_OPS__THRESHOLDS__API_HEALTH_P95_MS", "slow")
    from minimarket_ops.config import ConfigError

    with pytest.raises(ConfigError, match=r"^thresholds.api_health_p95_ms: Input should be a valid number"):
        load_settings()


def test_a_target_without_a_credential_makes_its_checks_not_applicable(sandbox):
    r = sandbox.run("-k", "api_health", credentials={
        k: v for k, v in sandbox.credentials().items() if k != "supabase_url"
    })
    assert r.outcome("api_health") == "not applicable"
    assert "configures no Supabase URL" in r.checks["api_health"]["reason"]
    assert r.exit_code == 0
