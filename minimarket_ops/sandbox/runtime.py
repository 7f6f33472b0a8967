"""The sandbox: the embedded default target (an ephemeral cluster + the reference gateway).

It is a stand-in for a deployment, not a mock of the checks: checks reach it through the
same fixtures, drivers and SQL they use on production.
"""

from __future__ import annotations

import json
import os
import secrets as pysecrets
import signal
import subprocess
import sys
import time
import uuid
from typing import Any
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import jwt
import psycopg
from psycopg import sql

from minimarket_ops.credentials import Credentials
from minimarket_ops.sandbox import faults as fault_registry
from minimarket_ops.sandbox.cluster import Cluster, free_port

SQL_DIR = Path(__file__).resolve().parent / "sql"
REFERENCE_FILES = ("00_supabase.sql", "01_schema.sql", "02_security.sql", "03_seed.sql")
MONITOR_ROLE = "ops_monitor"
STATE_DIR_ENV = "MINIMARKET_OPS_STATE_DIR"


def state_file() -> Path:
    """Where `sandbox up` keeps the running sandbox (secrets inside: mode 0600, not committed)."""
    base = os.environ.get(STATE_DIR_ENV) or Path(__file__).resolve().parents[2] / ".minimarket-ops"
    return Path(base) / "sandbox.json"


@dataclass
class SandboxSecrets:
    superuser_password: str
    monitor_password: str
    jwt_secret: str
    api_secret: str

    @classmethod
    def generate(cls) -> "SandboxSecrets":
        return cls(*(pysecrets.token_urlsafe(24) for _ in range(4)))


def server_settings(cluster: Cluster) -> dict[str, str]:
    preload = ["pg_stat_statements"]
    if cluster.has_library("pg_cron"):
        preload.append("pg_cron")
    return {
        "shared_preload_libraries": f"'{','.join(preload)}'",
        "pg_stat_statements.track": "all",
        "cron.database_name": "'postgres'",
    }


def load_reference(admin_url: str, scale: float, monitor_password: str) -> None:
    """The reference schema, its Supabase surroundings and scaled seed data, one file per transaction."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name in REFERENCE_FILES:
            with conn.transaction():
                conn.execute(sql.SQL("SET LOCAL sandbox.scale = {}").format(sql.Literal(str(scale))))
                conn.execute((SQL_DIR / name).read_text())
        set_password(conn, MONITOR_ROLE, monitor_password)


def set_password(conn: psycopg.Connection, role: str, password: str) -> None:
    """Send the SCRAM verifier, never the password: pg_stat_statements (track = all) and
    the server log keep a statement's text, and the monitoring role reads the first."""
    verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()
    conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(verifier)))


def apply_database_faults(admin_url: str, names: Iterable[str]) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name in names:
            fault = fault_registry.get(name)
            if fault.kind == "database" and fault.sql:
                with conn.transaction():
                    conn.execute(fault.sql)


def create_database(admin_url: str, name: str, template: str | None = None) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(query)


def mint_jwt(secret: str, role: str, *, sub: str | None = None, expires_in_s: int = 3600, **claims: Any) -> str:
    """An HS256 token like Supabase's: claims role, iss "supabase", iat, exp (and sub if given).

    A negative ``expires_in_s`` gives an expired token; ``claims`` are added as given.
    """
    now = int(time.time())
    payload: dict[str, Any] = {"iss": "supabase", "role": role, "iat": now, "exp": now + int(expires_in_s)}
    if sub is not None:
        payload["sub"] = sub
    payload.update(claims)
    return jwt.encode(payload, secret, algorithm="HS256")


def sandbox_credentials(cluster: Cluster, dbname: str, secrets: SandboxSecrets, gateway_url: str | None,
                        faults: Iterable[str]) -> Credentials:
    """What a run connects to a sandbox with: the monitoring role, the gateway, minted keys.
    `db_down` and `api_down` (or no gateway) point at a port nothing listens on."""
    faults = set(faults)
    db_port = free_port() if "db_down" in faults else cluster.port
    if "api_down" in faults or not gateway_url:
        gateway_url = f"http://127.0.0.1:{free_port()}"
    db_url = f"postgresql://{MONITOR_ROLE}:{secrets.monitor_password}@127.0.0.1:{db_port}/{dbname}"
    return Credentials(database_url=db_url, supabase_url=gateway_url, api_secret=secrets.api_secret,
                       **mint_keys(secrets))


def mint_keys(s: SandboxSecrets) -> dict[str, str]:
    ten_years = 10 * 365 * 24 * 3600
    return {
        "anon_key": mint_jwt(s.jwt_secret, "anon", expires_in_s=ten_years),
        "service_role_key": mint_jwt(s.jwt_secret, "service_role", expires_in_s=ten_years),
        "user_jwt": mint_jwt(s.jwt_secret, "authenticated", sub=str(uuid.uuid4()), expires_in_s=24 * 3600),
    }


@dataclass
class Sandbox:
    scale: float = 1.0
    faults: tuple[str, ...] = ()
    secrets: SandboxSecrets = field(default_factory=SandboxSecrets.generate)
    dbname: str = "postgres"
    cluster: Cluster | None = None
    gateway_url: str | None = None
    _gateway: object | None = None
    _gateway_proc: subprocess.Popen | None = None
    _gateway_pid: int | None = None  # a detached gateway's, read back from the state file

    def __post_init__(self) -> None:
        for name in self.faults:
            fault_registry.get(name)  # unknown names fail before anything starts

    def _has(self, name: str) -> bool:
        return name in self.faults

    def start(self, detached: bool = False) -> "Sandbox":
        try:
            self.cluster = Cluster(self.secrets.superuser_password)
            self.cluster.settings = server_settings(self.cluster)
            self.cluster.start()
            admin = self.cluster.url(self.dbname)
            load_reference(admin, self.scale, self.secrets.monitor_password)
            if self.cluster.has_library("pg_cron"):
                with psycopg.connect(self.cluster.url("postgres"), autocommit=True) as conn:
                    # As Supabase does: the extension in pg_catalog, its objects in schema cron.
                    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_cron WITH SCHEMA pg_catalog")
            apply_database_faults(admin, self.faults)
            if not self._has("api_down"):
                self._start_gateway(detached)
        except BaseException:
            self.stop()
            raise
        return self

    def _gateway_faults(self) -> frozenset[str]:
        return frozenset(f for f in self.faults if fault_registry.get(f).kind == "api")

    def _start_gateway(self, detached: bool) -> None:
        from minimarket_ops.sandbox.gateway import GatewayConfig, GatewayServer

        assert self.cluster is not None
        conninfo = self.cluster.url(self.dbname)
        if not detached:
            cfg = GatewayConfig(conninfo=conninfo, jwt_secret=self.secrets.jwt_secret,
                                api_secret=self.secrets.api_secret, faults=self._gateway_faults())
            self._gateway = GatewayServer(cfg)
            self.gateway_url = self._gateway.start()
            return
        port = free_port()
        env = dict(os.environ, MM_GATEWAY_CONNINFO=conninfo, MM_GATEWAY_JWT_SECRET=self.secrets.jwt_secret,
                   MM_GATEWAY_API_SECRET=self.secrets.api_secret, MM_GATEWAY_FAULTS=",".join(self._gateway_faults()))
        with (self.cluster.root / "gateway.log").open("ab") as log:  # the child keeps its own copy
            self._gateway_proc = subprocess.Popen(
                [sys.executable, "-m", "minimarket_ops.sandbox.gateway", "--port", str(port)],
                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            )
        self.gateway_url = f"http://127.0.0.1:{port}"
        # The root answers without the database, rate limits or the api_slow delay.
        _wait_http(self.gateway_url + "/", self._gateway_proc, timeout_s=20)

    def credentials(self) -> Credentials:
        assert self.cluster is not None
        return sandbox_credentials(self.cluster, self.dbname, self.secrets, self.gateway_url, self.faults)

    def stop(self) -> None:
        if self._gateway is not None:
            self._gateway.stop()
            self._gateway = None
        if self._gateway_proc is not None:
            self._gateway_proc.terminate()
            try:
                self._gateway_proc.wait(10)
            except subprocess.TimeoutExpired:
                self._gateway_proc.kill()
            self._gateway_proc = None
        if self.cluster is not None:
            self.cluster.remove()
            self.cluster = None

    # -- `minimarket-ops sandbox up|down|status` keeps one running between commands ----
    def save_state(self, path: Path | None = None) -> None:
        assert self.cluster is not None
        path = path or state_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "root": str(self.cluster.root), "port": self.cluster.port, "bindir": str(self.cluster.bindir),
            "dbname": self.dbname, "scale": self.scale, "faults": list(self.faults),
            "gateway_url": self.gateway_url, "gateway_pid": self._gateway_proc.pid if self._gateway_proc else None,
            "secrets": asdict(self.secrets),
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # the mode of open() applies only to a new file; this one holds secrets
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)

    @classmethod
    def from_state(cls, path: Path | None = None) -> "Sandbox | None":
        path = path or state_file()
        try:
            data = json.loads(path.read_text())
            sb = cls(scale=data["scale"], faults=tuple(data["faults"]), secrets=SandboxSecrets(**data["secrets"]),
                     dbname=data["dbname"])
            sb.cluster = Cluster(sb.secrets.superuser_password, root=Path(data["root"]), port=data["port"],
                                 bindir=Path(data["bindir"]))
            sb.gateway_url = data["gateway_url"]
            sb._gateway_pid = data.get("gateway_pid")
        except (OSError, ValueError, KeyError, TypeError):  # no state, or not ours: nothing running
            return None
        return sb

    def is_alive(self) -> bool:
        return self.cluster is not None and self.cluster.data.exists() and self.cluster.is_running()

    def stop_detached(self, path: Path | None = None) -> None:
        path = path or state_file()
        pid = self._gateway_pid
        if pid and _is_our_gateway(pid):
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if self.cluster is not None:
            self.cluster.remove()
            self.cluster = None
        path.unlink(missing_ok=True)


def _is_our_gateway(pid: int) -> bool:
    """After a reboot the pid in the state file may be anybody's: signal only our gateway."""
    try:
        return b"minimarket_ops.sandbox.gateway" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _wait_http(url: str, proc: subprocess.Popen, timeout_s: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:  # e.g. its port was taken before it bound it
            raise RuntimeError(f"the sandbox gateway exited with code {proc.returncode} (see gateway.log)")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"the sandbox gateway did not answer at {url}")
