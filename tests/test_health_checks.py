"""The foundation's checks, each against the healthy sandbox and its fault."""

import pytest

DATABASE_CHECK = "database_reachable"


def test_first_checks_pass_on_healthy_sandbox(healthy_run):
    for check in ("database_reachable", "api_health", "products_without_category"):
        assert healthy_run.outcome(check) == "pass", healthy_run.checks[check]


def test_healthy_sandbox_every_check_passes_or_is_not_applicable(healthy_run):
    assert healthy_run.doc is not None, healthy_run.output
    bad = {k: (v["outcome"], v.get("reason"), v.get("finding")) for k, v in healthy_run.checks.items()
           if v["outcome"] not in ("pass", "not applicable")}
    assert not bad, bad
    for c in healthy_run.checks.values():
        if c["outcome"] == "not applicable":
            assert c["reason"], c
    assert healthy_run.exit_code == 0, healthy_run.output


def test_database_down_fails_once_and_the_rest_is_not_run(sandbox):
    r = sandbox.run("-m", "daily", faults=("db_down",))
    assert r.exit_code == 1
    assert r.outcome(DATABASE_CHECK) == "fail"
    f = r.finding(DATABASE_CHECK)
    assert f["measured"] == "database connection" and "unreachable" in f["value"]
    assert f["threshold"] == "a connection within connect_timeout_s = 5"
    db_checks = [c for c in r.checks.values() if c["check"] != DATABASE_CHECK and "uses_database" in c["uses"]]
    assert db_checks, "expected database checks in the daily set"
    for c in db_checks:
        assert c["outcome"] == "not run", c
        assert c["reason"].startswith("database unreachable: "), c
    # One failure, no wall of tracebacks: the not-run reasons are grouped in one line.
    assert "Traceback" not in r.output
    assert r.output.count("not run (") == 1, r.output


@pytest.mark.parametrize("fault,expect", [
    ("api_5xx", "503"),
    ("api_down", "ConnectError"),
])
def test_api_health_fails_when_unhealthy(sandbox, fault, expect):
    r = sandbox.run("-k", "api_health", faults=(fault,))
    assert r.outcome("api_health") == "fail", r.output
    f = r.finding("api_health")
    assert f["level"] == "critica"
    assert "unhealthy answers" in f["measured"]
    assert f["value"] == "3 of 3"  # every sample (api_health_samples_count = 3 in the self-tests)
    assert f["threshold"] == "every answer 200 with status 'operational' and services.database 'healthy'"
    assert any(str(row["status"]) == expect for row in f["rows"]), f


def test_api_health_fails_on_latency_above_slo(sandbox):
    r = sandbox.run("-k", "api_health", faults=("api_slow",), thresholds={"api_health_samples_count": 2})
    assert r.outcome("api_health") == "fail", r.output
    f = r.finding("api_health")
    assert f["threshold"] == "api_health_p95_ms <= 500 ms"
    assert float(f["value"].removesuffix(" ms")) >= 2500
    assert "p95 latency" in f["measured"]


def test_products_without_category_fault(sandbox):
    r = sandbox.run("-k", "products_without_category", faults=("orphan_products",))
    assert r.outcome("products_without_category") == "fail"
    f = r.finding("products_without_category")
    assert f["value"] == 3 and f["rows_total"] == 3 and len(f["rows"]) == 3
    assert f["threshold"] == "orphan_products_max_count <= 0"
    assert all(row["categoria_id"] and row["sku"] for row in f["rows"])
    assert r.exit_code == 1
