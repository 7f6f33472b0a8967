"""The pytest plugin: options, check metadata, the six outcomes, results and exit codes.

Knows nothing of the Mini Market domain: it reads markers and the finding shape.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from minimarket_ops.config import ConfigError, load_settings, resolve_target
from minimarket_ops.db import not_run_reason
from minimarket_ops.finding import CheckFailed
from minimarket_ops.http import api_not_run_reason
from minimarket_ops.run import RunState
from minimarket_ops.summary import finding_text, outcome_counts, outcome_line
from minimarket_ops.vocabulary import (
    AREAS, CADENCES, GATE_MARKER, SEVERITY_MARKER, USES_MARKERS, ExitCode, Outcome, Severity,
)

STATE = pytest.StashKey[RunState]()
CHECK = pytest.StashKey[dict]()
# The recorder of the check's `finding` fixture, so passing checks report their measurement.
RECORDER_KEY = pytest.StashKey[Any]()
RESULTS_SCHEMA_VERSION = 1

# Fixtures that mean "this check uses the database / the API" (for not-applicable rules).
DATABASE_FIXTURES = {"db", "database_status", "schema"}
API_FIXTURES = {"api"}

_STATUS = {
    Outcome.passed: ("passed", ".", "PASS"),
    Outcome.failed: ("failed", "F", "FAIL"),
    Outcome.silenced: ("silenced", "S", "SILENCED"),
    Outcome.not_applicable: ("not applicable", "s", "NOT APPLICABLE"),
    Outcome.not_run: ("not run", "N", "NOT RUN"),
    Outcome.error: ("error", "E", "ERROR"),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("minimarket-ops")
    g.addoption("--target", default=None, help="configured target to check (default: run.default_target, 'sandbox')")
    g.addoption("--config", dest="mm_config", default=None, help="configuration overlay (TOML) over the committed defaults")
    g.addoption("--fault", dest="mm_faults", action="append", default=[], help="sandbox fault to switch on (repeatable)")
    g.addoption("--scale", dest="mm_scale", type=float, default=None, help="sandbox data scale (1 = a real store)")
    g.addoption("--report-dir", dest="mm_report_dir", default=None, help="where this run's reports go (default reports/<run id>)")
    g.addoption("--run-id", dest="mm_run_id", default=None, help="run id to use (default: generated)")


def _is_checks_run(config: pytest.Config) -> bool:
    checks = (config.rootpath / "checks").resolve()
    args = [a.split("::")[0] for a in config.args] or [str(checks)]
    for arg in args:
        p = Path(arg)
        p = (p if p.is_absolute() else Path(config.invocation_params.dir) / p).resolve()
        if p == checks or checks in p.parents or p in checks.parents:  # `pytest .` collects checks too
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for cadence in CADENCES:
        config.addinivalue_line("markers", f"{cadence}: cadence — run in the {cadence} set")
    config.addinivalue_line("markers", f"{GATE_MARKER}: part of the recovery gate (GO/NO-GO)")
    config.addinivalue_line("markers", f"{SEVERITY_MARKER}(level): highest severity the check can raise")
    for area, text in AREAS.items():
        config.addinivalue_line("markers", f"{area}: area — {text}")
    for marker, text in USES_MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {text}")
    try:
        settings = load_settings(config.getoption("mm_config"))
        name, target = resolve_target(settings, config.getoption("target"))
        faults = tuple(config.getoption("mm_faults") or target.faults)
        if faults and target.kind != "sandbox":
            raise ConfigError(f"--fault: target {name!r} is not a sandbox; faults exist only there")
        if faults:
            from minimarket_ops.sandbox import faults as registry

            for f in faults:
                try:
                    registry.get(f)
                except ValueError as exc:
                    raise ConfigError(f"--fault: {exc}") from None
        scale = config.getoption("mm_scale") or target.scale
        if scale <= 0 or scale > 1000:
            raise ConfigError(f"--scale: must be > 0 and <= 1000 (got {scale})")
        state = RunState(settings=settings, target_name=name, target=target, faults=faults, scale=scale)
        if config.getoption("mm_run_id"):
            state.run_id = config.getoption("mm_run_id")
        checks_run = _is_checks_run(config)
        if checks_run:
            state.check_environment()
    except ConfigError as exc:
        raise pytest.UsageError(f"configuration: {exc}") from None
    config.stash[STATE] = state
    config.pluginmanager.register(_ResultsCollector(state), "minimarket-ops-results")
    _interrupt_on_sigterm()
    if checks_run and not config.option.collectonly:
        rd = config.getoption("mm_report_dir")
        state.report_dir = Path(rd) if rd else Path(config.rootpath) / settings.run.reports_dir / state.run_id
        try:
            state.report_dir.mkdir(parents=True, exist_ok=True)
            probe = state.report_dir / ".writable"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            # Checks still run and print; the run ends as "suite broken" (exit 3).
            state.results_error = f"could not write results to {state.report_dir}: {exc.strerror or exc}"
            return
        # Reports by default for a checks run; explicit options win.
        if getattr(config.option, "htmlpath", "missing") is None:
            config.option.htmlpath = str(state.report_dir / "report.html")
            config.option.self_contained_html = True
        if config.pluginmanager.hasplugin("html") or config.pluginmanager.hasplugin("pytest_html.plugin"):
            from minimarket_ops.html_summary import HtmlSummary

            config.pluginmanager.register(HtmlSummary(state), "minimarket-ops-html")
        if getattr(config.option, "xmlpath", "missing") is None:
            config.option.xmlpath = str(state.report_dir / "junit.xml")


def _interrupt_on_sigterm() -> None:
    """A CI timeout or `kill` sends SIGTERM: turn it into pytest's interrupt (exit 2), so the
    session ends normally and a sandbox this run started is stopped, not left running."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        def _raise(signum, frame):
            raise KeyboardInterrupt("SIGTERM")

        signal.signal(signal.SIGTERM, _raise)


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is not None:
        state.close()


# -- collection: check metadata from markers and folders ---------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    checks_dir = (config.rootpath / "checks").resolve()
    state = config.stash[STATE]
    problems = []
    for item in items:
        path = Path(item.path).resolve()
        if checks_dir not in path.parents:
            continue
        area = path.relative_to(checks_dir).parts[0]
        cadences = [c for c in CADENCES if item.get_closest_marker(c)]
        sev = item.get_closest_marker(SEVERITY_MARKER)
        where = item.nodeid
        if area not in AREAS:
            problems.append(f"{where}: folder {area!r} is not a known area")
        if len(cadences) != 1:
            problems.append(f"{where}: needs exactly one cadence marker ({'/'.join(CADENCES)})")
        if sev is None or not sev.args or sev.args[0] not in Severity.__members__:
            problems.append(f"{where}: needs @pytest.mark.severity(<{'|'.join(Severity.__members__)}>)")
            continue
        item.add_marker(area)
        fixtures = set(getattr(item, "fixturenames", ()))
        uses = []
        if fixtures & DATABASE_FIXTURES:
            uses.append("uses_database")
        if fixtures & API_FIXTURES:
            uses.append("uses_api")
        for u in uses:
            item.add_marker(u)
        name = getattr(item, "originalname", item.name).removeprefix("test_")
        meta = {
            "check": name,
            "nodeid": item.nodeid,
            "area": area,
            "cadence": cadences[0] if cadences else None,
            "severity": sev.args[0],
            "gate": item.get_closest_marker(GATE_MARKER) is not None,
            "uses": uses,
            "doc": _first_doc_line(getattr(item, "function", None)),
        }
        item.stash[CHECK] = meta
        item.user_properties.append(("mm_check", meta))
        # Declared not applicable for this target (by check id, area or uses_* marker).
        for key in [name, area, *uses]:
            if key in state.target.not_applicable:
                reason = state.target.not_applicable[key]
                item.add_marker(pytest.mark.skip(reason=f"not applicable to target {state.target_name}: {reason}"))
                break
    if problems:
        pytest.exit("malformed checks (a suite bug):\n  " + "\n  ".join(problems), returncode=ExitCode.SUITE_BROKEN)


def _first_doc_line(func: Any) -> str:
    lines = ((func.__doc__ if func is not None else None) or "").strip().splitlines()
    return lines[0] if lines else ""


# -- outcomes -----------------------------------------------------------------------------
def user_property(report: pytest.TestReport, key: str) -> Any:
    for k, v in getattr(report, "user_properties", ()):
        if k == key:
            return v
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    meta = item.stash.get(CHECK, None)
    if meta is None:
        return report
    state = item.config.stash[STATE]
    outcome: Outcome | None = None
    reason: str | None = None
    finding = None
    if report.skipped:
        outcome = Outcome.not_applicable
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
    elif call.excinfo is not None and report.failed:
        exc = call.excinfo.value
        if isinstance(exc, CheckFailed):
            outcome, finding = Outcome.failed, exc.finding
        elif (r := not_run_reason(exc, state.settings.database)) is not None or (r := api_not_run_reason(exc)):
            outcome, reason = Outcome.not_run, r
        else:
            outcome = Outcome.error
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
    elif report.when == "call" and report.passed:
        outcome = Outcome.passed
    if outcome is None:
        return report
    if report.failed and report.when == "teardown" and _already_recorded(item):
        # The check kept its outcome; the broken teardown (a fixture's) is the suite's.
        state.suite_errors.append(state.redact(f"teardown after {item.nodeid}: {reason or outcome.value}"))
        return report
    if reason:
        reason = state.redact(reason)
    report.user_properties.append(("mm_outcome", outcome.value))
    if reason:
        report.user_properties.append(("mm_reason", reason))
    if finding is not None:
        report.user_properties.append(("mm_finding", finding.to_dict()))
        report.longrepr = state.redact(finding.message())
    recorder = item.stash.get(RECORDER_KEY, None)
    if recorder is not None and recorder.measurement is not None:
        report.user_properties.append(("mm_measurement", recorder.measurement))
    if outcome is Outcome.not_run:
        report.longrepr = f"not run: {reason}"
    elif outcome is Outcome.error and report.longrepr is not None:
        report.longrepr = state.redact(str(report.longrepr))
    item.stash[_RECORDED] = True
    return report


_RECORDED = pytest.StashKey[bool]()


def _already_recorded(item: pytest.Item) -> bool:
    return item.stash.get(_RECORDED, False)




@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    outcome = user_property(report, "mm_outcome")
    if outcome is None:
        return None
    return _STATUS[Outcome(outcome)]


class _ResultsCollector:
    """Collects check results from reports; on the controller under xdist too, since
    everything needed travels in user_properties. One per session (nested runs are safe)."""

    def __init__(self, state: RunState):
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome = user_property(report, "mm_outcome")
        meta = user_property(report, "mm_check")
        if outcome is None or meta is None:
            return
        self.state.results.append({
            **meta,
            "outcome": outcome,
            "reason": user_property(report, "mm_reason"),
            "finding": user_property(report, "mm_finding"),
            "measurement": user_property(report, "mm_measurement"),
            "duration_s": round(report.duration, 4),
        })


# -- end of run: results, exit code, summary ------------------------------------------
@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state = config.stash.get(STATE, None)
    if state is None:
        return
    counts = outcome_counts(state.results)
    if state.results_error:
        session.exitstatus = ExitCode.SUITE_BROKEN
    elif state.report_dir is not None and state.results:
        try:
            write_results(state)
        except OSError as exc:
            state.results_error = f"could not write results to {state.report_dir}: {exc.strerror or exc}"
            session.exitstatus = ExitCode.SUITE_BROKEN
    if ((counts[Outcome.error.value] or state.suite_errors)
            and session.exitstatus in (ExitCode.OK, ExitCode.SICK)):
        session.exitstatus = ExitCode.SUITE_BROKEN


def results_document(state: RunState) -> dict[str, Any]:
    import datetime as dt

    return {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "run_id": state.run_id,
        "suite_revision": state.revision,
        "ci_run_url": state.ci_url,
        "target": state.target_name,
        "environment": state.target.environment,
        "faults": list(state.faults),
        "started_at": state.started_at,
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "counts": outcome_counts(state.results),
        "checks": state.results,
    }


def write_results(state: RunState) -> Path:
    assert state.report_dir is not None
    state.report_dir.mkdir(parents=True, exist_ok=True)
    path = state.report_dir / "results.json"
    text = state.redact(json.dumps(results_document(state), indent=2, ensure_ascii=False, default=str))
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None or not state.results:
        return
    tr = terminalreporter
    counts = outcome_counts(state.results)
    tr.section("minimarket-ops", sep="=")
    tr.write_line(f"run {state.run_id} · target {state.target_name} ({state.target.environment}) · suite {state.revision}"
                  + (f" · faults {', '.join(state.faults)}" if state.faults else ""))
    if state.sandbox_note:
        tr.write_line(f"sandbox: {state.sandbox_note}")
    tr.write_line("outcomes: " + outcome_line(counts, ", "))
    by_reason: dict[str, list[str]] = {}
    for r in state.results:
        if r["outcome"] == Outcome.not_run.value:
            by_reason.setdefault(r["reason"] or "unknown", []).append(r["check"])
    for reason, checks in by_reason.items():
        tr.write_line(f"not run ({len(checks)}): {reason}: {', '.join(checks)}", yellow=True)
    for r in state.results:
        if r["outcome"] == Outcome.failed.value and r.get("finding"):
            tr.write_line(f"FAIL [{r['finding']['level']}] {r['check']}: {finding_text(r['finding'])}", red=True)
    for err in state.suite_errors:
        tr.write_line(f"SUITE ERROR: {err}", red=True)
    err = state.results_error
    if err:
        tr.write_line(f"SUITE ERROR: {err}", red=True)
    elif state.report_dir is not None:
        tr.write_line(f"reports: {state.report_dir}")
