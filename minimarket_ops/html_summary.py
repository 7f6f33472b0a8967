"""Puts the run's summary (by area and severity, outcomes in the suite's words) at the top
of pytest-html's report, adds the check's outcome, severity and area to each row, and
names pytest-html's filter boxes in the suite's words. Registered only when pytest-html
is loaded."""

from __future__ import annotations

import html
from typing import Any

from minimarket_ops.plugin import user_property
from minimarket_ops.summary import counts_by_area, failures, finding_text, outcome_counts, outcome_line
from minimarket_ops.vocabulary import Outcome


# pytest-html filters on pytest's categories, which are coarser than the six outcomes: a
# check that did not run or crashed in its body is a pytest failure. The boxes say so.
FILTER_LABELS = {
    "passed": Outcome.passed.value,
    "failed": f"{Outcome.failed.value}, {Outcome.not_run.value} or {Outcome.error.value}",
    "skipped": Outcome.not_applicable.value,
    "error": f"{Outcome.not_run.value} or {Outcome.error.value} before the check",
    "xfailed": "expected failures (not used)",
    "xpassed": "unexpected passes (not used)",
    "rerun": "reruns",
    "retried": "retries",
}


class HtmlSummary:
    def __init__(self, state: Any):
        self.state = state

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells[1:1] = ['<th class="sortable" data-column-type="outcome">Outcome</th>',
                      '<th class="sortable" data-column-type="severity">Severity</th>',
                      '<th class="sortable" data-column-type="area">Area</th>']

    def pytest_html_results_table_row(self, report, cells: list[str]) -> None:
        e = html.escape
        meta = user_property(report, "mm_check") or {}
        finding = user_property(report, "mm_finding")
        # The level the finding reached, else the highest the check can raise.
        level = (finding or {}).get("level") or meta.get("severity", "")
        cells[1:1] = [f'<td class="col-outcome">{e(user_property(report, "mm_outcome") or "")}</td>',
                      f'<td class="col-severity">{e(level)}</td>',
                      f'<td class="col-area">{e(meta.get("area", ""))}</td>']

    def pytest_html_results_table_html(self, report, data: list[str]) -> None:
        # A skip's log is pytest's (file, line, message) tuple; the operator needs the reason.
        if user_property(report, "mm_outcome") == Outcome.not_applicable.value:
            data[:] = [html.escape(f"not applicable: {user_property(report, 'mm_reason') or ''}")]

    def pytest_html_report_title(self, report) -> None:
        report.title = f"minimarket-ops · {self.state.target_name} · run {self.state.run_id}"

    def pytest_html_results_summary(self, prefix, summary, postfix, session) -> None:
        s = self.state
        results = s.results
        e = html.escape
        head = (f"<p>target <b>{e(s.target_name)}</b> ({e(s.target.environment)}) · suite {e(s.revision)}"
                + (f" · faults {e(', '.join(s.faults))}" if s.faults else "")
                + (f' · <a href="{e(s.ci_url)}">CI run</a>' if s.ci_url else "") + "</p>")
        line = outcome_line(outcome_counts(results))
        rows = ["<tr><td>" + e(area) + "</td>" + "".join(f"<td>{a[o.value]}</td>" for o in Outcome) + "</tr>"
                for area, a in counts_by_area(results).items()]
        table = ('<table style="border-collapse:collapse" cellpadding="4" border="1"><tr><th>area</th>' + "".join(f"<th>{e(o.value)}</th>" for o in Outcome) + "</tr>"
                 + "".join(rows) + "</table>")
        items = "".join(
            f"<li><b>[{e(r['finding']['level'])}]</b> {e(r['check'])}{' (gate)' if r['gate'] else ''}: "
            f"{e(finding_text(r['finding']))}</li>" for r in failures(results))
        others = "".join(f"<li>{e(r['outcome'])}: {e(r['check'])}: {e(r.get('reason') or '')}</li>"
                         for r in results if r["outcome"] in (Outcome.not_run.value, Outcome.error.value))
        _name_filters(session.config)
        prefix.extend([head, f"<p><b>{e(line)}</b></p>", table])
        if items:
            prefix.append(f"<h3>Findings</h3><ul>{items}</ul>")
        if others:
            prefix.append(f"<h3>Not run / errors</h3><ul>{others}</ul>")


def _name_filters(config: Any) -> None:
    """pytest-html has no hook for its filter labels; they live in its report data
    (``_outcomes``, pytest-html 4.x, pinned in uv.lock). Without that attribute the boxes
    keep pytest's words; tests/test_html_report.py renders the report and notices."""
    for plugin in config.pluginmanager.get_plugins():
        outcomes = getattr(getattr(plugin, "_report", None), "_outcomes", None)
        if isinstance(outcomes, dict):
            for key, label in FILTER_LABELS.items():
                if isinstance(outcomes.get(key), dict):
                    outcomes[key]["label"] = label
