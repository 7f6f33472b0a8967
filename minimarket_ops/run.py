"""One run's state: settings, target, credentials, redaction, identity (run id, revision)."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minimarket_ops.config import REPO_ROOT, Settings, TargetConfig
from minimarket_ops.credentials import Credentials, from_environment
from minimarket_ops.masking import Redactor



def new_run_id() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def suite_revision() -> str:
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"][:12]
    try:
        out = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=5)
        rev = out.stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return (rev + ("-dirty" if dirty else "")) if rev else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def ci_run_url() -> str | None:
    env = os.environ
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        return f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    return None


class SandboxError(RuntimeError):
    pass


@dataclass
class RunState:
    settings: Settings
    target_name: str
    target: TargetConfig
    faults: tuple[str, ...] = ()
    scale: float = 1.0
    run_id: str = field(default_factory=new_run_id)
    revision: str = field(default_factory=suite_revision)
    ci_url: str | None = field(default_factory=ci_run_url)
    started_at: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat())
    report_dir: Path | None = None
    redact: Redactor = field(default_factory=Redactor)
    _credentials: Credentials | None = None
    sandbox: Any = None  # the sandbox this run started, stopped at the end
    results_error: str | None = None  # the results could not be written (exit 3)
    suite_errors: list[str] = field(default_factory=list)  # broken fixtures after a check's outcome (exit 3)
    sandbox_note: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)

    def check_environment(self) -> None:
        """For a remote target read (and so validate) credentials now, before any check."""
        if self.target.kind == "remote":
            self._set_credentials(from_environment(self.target_name, self.target))

    def _set_credentials(self, creds: Credentials) -> None:
        self._credentials = creds
        for secret in creds.secrets():
            self.redact.add(secret)

    def credentials(self) -> Credentials:
        if self._credentials is None:
            if self.target.kind == "remote":  # never a sandbox in place of the named target
                self.check_environment()
            else:
                self._set_credentials(self._start_sandbox())
        return self._credentials

    def _start_sandbox(self) -> Credentials:
        from minimarket_ops.sandbox.runtime import Sandbox

        # A healthy sandbox kept by `minimarket-ops sandbox up` is reused, at the scale it was
        # started with; a run with faults gets a sandbox of its own.
        if not self.faults:
            running = Sandbox.from_state()
            if running is not None and not running.faults and running.is_alive():
                self._redact_sandbox_secrets(running)
                self.sandbox_note = f"the sandbox kept by `minimarket-ops sandbox up` (port {running.cluster.port})"
                return running.credentials()
        sb = Sandbox(scale=self.scale, faults=self.faults)
        self._redact_sandbox_secrets(sb)
        self.sandbox_note = "started for this run, stopped at its end"
        try:
            self.sandbox = sb.start()
        except Exception as exc:
            # The sandbox is part of the suite: its failure is an error, never "not run".
            raise SandboxError(self.redact(f"the sandbox did not start: {type(exc).__name__}: {exc}")) from None
        return sb.credentials()

    def _redact_sandbox_secrets(self, sb: Any) -> None:
        for secret in vars(sb.secrets).values():
            self.redact.add(secret)

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
