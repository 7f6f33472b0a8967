"""Self-test harness: one cluster per session, the healthy sandbox as a template database,
a fresh database per fault set (CREATE DATABASE … TEMPLATE, seconds), a gateway per
(database, API faults), and in-process runs of the real checks through the real plugin.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from minimarket_ops.sandbox import faults as registry
from minimarket_ops.sandbox.cluster import Cluster
from minimarket_ops.sandbox.runtime import (
    SandboxSecrets, apply_database_faults, create_database, load_reference, sandbox_credentials, server_settings,
)

REPO = Path(__file__).resolve().parent.parent
TEMPLATE_DB = "mm_template"
SELFTEST_SCALE = float(os.environ.get("MINIMARKET_SELFTEST_SCALE", "0.2"))
# A generous latency budget for the healthy side (typical loopback answers take a few ms);
# the api_slow fault adds 2500 ms, far above it: no test depends on this machine's speed.
SELFTEST_THRESHOLDS = {"api_health_p95_ms": 500, "api_health_samples_count": 3}
ENV = {
    "database_url": "MM_SELFTEST_DATABASE_URL",
    "supabase_url": "MM_SELFTEST_SUPABASE_URL",
    "anon_key": "MM_SELFTEST_ANON_KEY",
    "service_role_key": "MM_SELFTEST_SERVICE_ROLE_KEY",
    "user_jwt": "MM_SELFTEST_USER_JWT",
    "api_secret": "MM_SELFTEST_API_SECRET",
}


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """Just enough TOML writing for overlays (tables of scalars, nested tables)."""
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict) or not v or k == "columns"}
    tables = {k: v for k, v in data.items() if k not in scalars}
    out = []
    if prefix and scalars:
        out.append(f"[{prefix}]")
    for k, v in scalars.items():
        out.append(f"{json.dumps(k)} = {toml_value(v)}")
    for k, v in tables.items():
        out.append(to_toml(v, f"{prefix}.{json.dumps(k)}" if prefix else json.dumps(k)))
    text = "\n".join(out) + "\n"
    tomllib.loads(text)  # written wrongly is a harness bug: fail here, not in the run
    return text


@dataclass
class RunResult:
    exit_code: int
    output: str
    doc: dict[str, Any] | None
    report_dir: Path

    @property
    def checks(self) -> dict[str, dict[str, Any]]:
        return {c["check"]: c for c in (self.doc or {}).get("checks", [])}

    def outcome(self, check: str) -> str:
        return self.checks[check]["outcome"]

    def finding(self, check: str) -> dict[str, Any]:
        f = self.checks[check]["finding"]
        assert f is not None, f"{check} has no finding: {self.checks[check]}"
        return f

    def outcomes(self) -> dict[str, str]:
        return {k: v["outcome"] for k, v in self.checks.items()}


@dataclass
class SelfTestSandbox:
    cluster: Cluster
    secrets: SandboxSecrets
    tmp: Path
    _dbs: dict[tuple[str, ...], str] = field(default_factory=dict)
    _gateways: dict[tuple[str, frozenset[str]], tuple[Any, str]] = field(default_factory=dict)
    _runs: int = 0

    @classmethod
    def start(cls, tmp: Path, bindir: Path | None = None) -> "SelfTestSandbox":
        """bindir: other server binaries (e.g. PostgreSQL 16/17 from scripts/fetch-postgres.sh)."""
        secrets = SandboxSecrets.generate()
        # The cluster gets its own temp dir: pytest's tmp dirs are 0700 root, not traversable by postgres.
        cluster = Cluster(secrets.superuser_password, bindir=bindir)
        cluster.settings = server_settings(cluster)
        try:
            cluster.start()
            create_database(cluster.url(), TEMPLATE_DB)
            load_reference(cluster.url(TEMPLATE_DB), SELFTEST_SCALE, secrets.monitor_password)
        except BaseException:
            cluster.remove()
            raise
        return cls(cluster, secrets, tmp)

    def stop(self) -> None:
        for gw, _url in self._gateways.values():
            gw.stop()
        self._gateways.clear()
        self.cluster.remove()

    # -- databases and gateways per fault set ------------------------------------------
    def admin_url(self, dbname: str = "postgres") -> str:
        return self.cluster.url(dbname)

    def database(self, faults: tuple[str, ...] = (), setup_sql: str | None = None) -> str:
        db_faults = tuple(sorted(f for f in faults if registry.get(f).kind == "database"))
        key = db_faults + ((hashlib.sha1(setup_sql.encode()).hexdigest()[:8],) if setup_sql else ())
        if key not in self._dbs:
            name = "mm_" + (hashlib.sha1("|".join(key).encode()).hexdigest()[:10] if key else "healthy")
            create_database(self.admin_url(), name, template=TEMPLATE_DB)
            apply_database_faults(self.admin_url(name), db_faults)
            if setup_sql:
                with psycopg.connect(self.admin_url(name), autocommit=True) as conn:
                    conn.execute(setup_sql)
            self._dbs[key] = name
        return self._dbs[key]

    def gateway(self, dbname: str, api_faults: frozenset[str]) -> str:
        from minimarket_ops.sandbox.gateway import GatewayConfig, GatewayServer

        key = (dbname, api_faults)
        if key not in self._gateways:
            # The slow fault's delay is far above the self-tests' latency budget (SELFTEST_THRESHOLDS).
            cfg = GatewayConfig(conninfo=self.admin_url(dbname), jwt_secret=self.secrets.jwt_secret,
                                api_secret=self.secrets.api_secret, faults=api_faults, slow_ms=2500)
            gw = GatewayServer(cfg)
            self._gateways[key] = (gw, gw.start())
        return self._gateways[key][1]

    def credentials(self, faults: tuple[str, ...] = (), setup_sql: str | None = None) -> dict[str, str]:
        for f in faults:
            registry.get(f)
        dbname = self.database(faults, setup_sql)
        api_faults = frozenset(f for f in faults if registry.get(f).kind == "api")
        gateway_url = None if "api_down" in faults else self.gateway(dbname, api_faults)
        return asdict(sandbox_credentials(self.cluster, dbname, self.secrets, gateway_url, faults))

    # -- running the real checks --------------------------------------------------------
    def run(
        self,
        *args: str,
        faults: tuple[str, ...] = (),
        thresholds: dict[str, Any] | None = None,
        target: dict[str, Any] | None = None,
        overlay: dict[str, Any] | None = None,
        setup_sql: str | None = None,
        env: dict[str, str] | None = None,
        credentials: dict[str, str] | None = None,
        rootdir: Path = REPO,
    ) -> RunResult:
        """Run checks (pytest args, e.g. "-m", "daily" or a node id) against the fault set."""
        self._runs += 1
        run_dir = self.tmp / f"run{self._runs:03d}"
        run_dir.mkdir(parents=True)
        creds = credentials if credentials is not None else self.credentials(faults, setup_sql)
        tgt = {"kind": "remote", "environment": "staging"}
        tgt.update({f"{k}_env": ENV[k] for k in creds})
        tgt["thresholds"] = {**SELFTEST_THRESHOLDS, **(thresholds or {})}
        tgt.update(target or {})
        data = {"run": {"default_target": "selftest"}, "targets": {"selftest": tgt}}
        for k, v in (overlay or {}).items():
            data[k] = v
        cfg = run_dir / "overlay.toml"
        cfg.write_text(to_toml(data))
        environ = {ENV[k]: v for k, v in creds.items()}
        environ.update(env or {})
        report_dir = run_dir / "reports"
        argv = ["-p", "no:cacheprovider", "-q", "--config", str(cfg), "--report-dir", str(report_dir),
                "--rootdir", str(rootdir), "-c", str(REPO / "pyproject.toml"), *args]
        if not any(a.startswith("checks") or "/checks/" in a for a in args):
            argv.append(str(rootdir / "checks"))
        return run_pytest(argv, environ, report_dir)


def run_pytest(argv: list[str], environ: dict[str, str], report_dir: Path) -> RunResult:
    import pytest

    saved = {k: os.environ.get(k) for k in environ}
    os.environ.update(environ)
    buf = io.StringIO()
    cwd = os.getcwd()
    try:
        os.chdir(REPO)
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            code = int(pytest.main(argv))
    finally:
        os.chdir(cwd)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    results = report_dir / "results.json"
    doc = json.loads(results.read_text()) if results.exists() else None
    return RunResult(code, buf.getvalue(), doc, report_dir)
