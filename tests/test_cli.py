"""The command line: sandbox up|status|down, run against the kept sandbox, usage errors."""

import os
import subprocess
import sys

from tests.harness import REPO


def cli(*args, env=None, timeout=180):
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "minimarket_ops.cli", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env=e)


def test_sandbox_up_status_run_down(tmp_path):
    env = {"MINIMARKET_OPS_STATE_DIR": str(tmp_path / "state")}
    up = cli("sandbox", "up", "--scale", "0.1", env=env)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert "sandbox up: PostgreSQL on 127.0.0.1:" in up.stdout
        state = tmp_path / "state" / "sandbox.json"
        assert state.stat().st_mode & 0o777 == 0o600
        st = cli("sandbox", "status", env=env)
        assert st.returncode == 0 and "sandbox running" in st.stdout
        again = cli("sandbox", "up", env=env)
        assert again.returncode == 1 and "already running" in again.stdout
        run = cli("run", "-m", "critical", "-k", "database_reachable or api_health", "--report-dir",
                  str(tmp_path / "r"), env=env)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "sandbox: the sandbox kept by `minimarket-ops sandbox up`" in run.stdout
        assert "2 pass" in run.stdout
    finally:
        down = cli("sandbox", "down", env=env)
    assert down.returncode == 0 and "sandbox down" in down.stdout
    assert not (tmp_path / "state" / "sandbox.json").exists()
    st = cli("sandbox", "status", env=env)
    assert st.returncode == 1 and "no sandbox is running" in st.stdout


def test_unknown_fault_is_a_usage_error(tmp_path):
    r = cli("sandbox", "up", "--fault", "nope", env={"MINIMARKET_OPS_STATE_DIR": str(tmp_path)})
    assert r.returncode == 4 and "unknown fault 'nope'" in r.stderr
    r = cli("run", "--fault", "nope", "--report-dir", str(tmp_path / "r"))
    assert r.returncode == 4 and "unknown fault 'nope'" in (r.stdout + r.stderr)
