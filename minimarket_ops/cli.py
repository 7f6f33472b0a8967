"""The `minimarket-ops` command: demo, sandbox up|down|status, run.

`run` and `demo` are thin: they call pytest with the suite's plugin and explicit plugin
loading (PYTEST_DISABLE_PLUGIN_AUTOLOAD keeps start-up fast), so a plain
`pytest -m daily --target NAME` does exactly the same work.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer

from minimarket_ops.config import ConfigError, load_settings
from minimarket_ops.run import REPO_ROOT, new_run_id
from minimarket_ops.summary import counts_by_area, finding_text, outcome_line
from minimarket_ops.vocabulary import Outcome

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0])
sandbox_app = typer.Typer(no_args_is_help=True, help="Keep a sandbox running between commands.")
app.add_typer(sandbox_app, name="sandbox")


def _pytest(args: list[str]) -> int:
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    os.chdir(REPO_ROOT)
    import pytest

    return int(pytest.main(args))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(
    ctx: typer.Context,
    target: str = typer.Option(None, help="configured target (default: sandbox)"),
    marker: str = typer.Option("daily", "-m", "--marker", help="pytest marker expression, e.g. 'security and daily'"),
    keyword: str = typer.Option(None, "-k", help="pytest -k expression"),
    fault: list[str] = typer.Option([], "--fault", help="sandbox fault (repeatable)"),
    config: Path = typer.Option(None, help="configuration overlay (TOML)"),
) -> None:
    """Run a selection of checks against a target; extra arguments go to pytest."""
    args = ["-m", marker]
    if keyword:
        args += ["-k", keyword]
    if target:
        args += ["--target", target]
    if config:
        args += ["--config", str(config.resolve())]
    for f in fault:
        args += ["--fault", f]
    raise typer.Exit(_pytest(args + list(ctx.args)))


@app.command()
def demo(
    scale: float = typer.Option(1.0, help="sandbox data scale (1 = a real store)"),
    fault: list[str] = typer.Option([], "--fault", help="sandbox fault to switch on (repeatable), e.g. orphan_products"),
    report_dir: Path = typer.Option(None, help="where to write the reports (default reports/<run id>)"),
) -> None:
    """Sandbox up, the daily checks against it, reports written, a summary, sandbox down."""
    run_id = new_run_id()
    if report_dir is None:
        try:  # where the plugin itself would put them (run.reports_dir)
            report_dir = REPO_ROOT / load_settings().run.reports_dir / run_id
        except ConfigError as exc:
            typer.echo(f"ERROR: configuration: {exc}", err=True)
            raise typer.Exit(4)
    rd = report_dir.resolve()
    args = ["-m", "daily", "--target", "sandbox", "--scale", str(scale), "--run-id", run_id,
            "--report-dir", str(rd), "-q", "--no-header", "--no-summary", "--tb=no", "-p", "no:cacheprovider"]
    for f in fault:
        args += ["--fault", f]
    typer.echo(f"minimarket-ops demo: starting the sandbox (scale {scale}"
               + (f", faults {', '.join(fault)}" if fault else "") + ") and running the daily checks …")
    code = _pytest(args)
    results = rd / "results.json"
    if results.exists():
        print_summary(json.loads(results.read_text()), rd)
    raise typer.Exit(code)


def print_summary(doc: dict, report_dir: Path) -> None:
    checks = doc["checks"]
    echo = typer.echo
    echo("")
    echo(f"run {doc['run_id']} · target {doc['target']} · suite {doc['suite_revision']}")
    echo("  " + outcome_line(doc["counts"]))
    short = {Outcome.not_applicable.value: "n/a"}  # the one word too wide for its column
    cols = [(o.value, short.get(o.value, o.value)) for o in Outcome]
    echo(f"  {'area':<12} {'checks':>6} " + " ".join(f"{label:>{max(len(label), 4)}}" for _, label in cols))
    for area, a in counts_by_area(checks).items():
        echo(f"  {area:<12} {sum(a.values()):>6} "
             + " ".join(f"{a[o]:>{max(len(label), 4)}}" for o, label in cols))
    for c in checks:
        if c["outcome"] == "fail" and c.get("finding"):
            f = c["finding"]
            gate = " [gate]" if c["gate"] else ""
            echo(f"  FAIL {f['level']:<7} {c['check']}{gate}: {finding_text(f)}")
        elif c["outcome"] in ("not run", "error"):
            echo(f"  {c['outcome'].upper()} {c['check']}: {c.get('reason')}")
        elif c["outcome"] == "not applicable":
            echo(f"  n/a  {c['check']}: {c.get('reason')}")
    echo("")
    for name in ("report.html", "results.json", "junit.xml"):
        if (report_dir / name).exists():
            echo(f"  {name:<13} {report_dir / name}")


@sandbox_app.command("up")
def sandbox_up(
    scale: float = typer.Option(1.0, help="data scale"),
    fault: list[str] = typer.Option([], "--fault", help="fault to switch on (repeatable)"),
) -> None:
    """Start a sandbox that stays up until `sandbox down`; checks with --target sandbox use it."""
    from minimarket_ops.sandbox.runtime import Sandbox, state_file

    running = Sandbox.from_state()
    if running is not None and running.is_alive():
        typer.echo(f"a sandbox is already running (port {running.cluster.port}); `minimarket-ops sandbox down` first")
        raise typer.Exit(1)
    try:
        sb = Sandbox(scale=scale, faults=tuple(fault))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(4)
    sb.start(detached=True)
    try:
        sb.save_state()
    except BaseException:
        sb.stop()  # without its state file nothing could stop it later
        raise
    typer.echo(f"sandbox up: PostgreSQL on 127.0.0.1:{sb.cluster.port}, API at {sb.gateway_url}")
    typer.echo(f"state (secrets, mode 0600): {state_file()}")


@sandbox_app.command("down")
def sandbox_down() -> None:
    """Stop the sandbox started by `sandbox up` and remove its data."""
    from minimarket_ops.sandbox.runtime import Sandbox

    sb = Sandbox.from_state()
    if sb is None:
        typer.echo("no sandbox is running")
        return
    sb.stop_detached()
    typer.echo("sandbox down")


@sandbox_app.command("status")
def sandbox_status() -> None:
    """Say whether a sandbox is running, and where."""
    from minimarket_ops.sandbox.runtime import Sandbox

    sb = Sandbox.from_state()
    if sb is None or not sb.is_alive():
        typer.echo("no sandbox is running")
        raise typer.Exit(1)
    faults = f", faults {', '.join(sb.faults)}" if sb.faults else ""
    typer.echo(f"sandbox running: PostgreSQL on 127.0.0.1:{sb.cluster.port}, API at {sb.gateway_url}, scale {sb.scale}{faults}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
