"""Puts the run's summary (by area and severity, outcomes in the suite's words) at the top
of pytest-html's report. Registered only when pytest-html is loaded."""

from __future__ import annotations

import html
from collections import Counter
from typing import Any

from minimarket_ops.vocabulary import Outcome, Severity


class HtmlSummary:
    def __init__(self, state: Any):
        self.state = state

    def pytest_html_report_title(self, report) -> None:
        report.title = f"minimarket-ops · {self.state.target_name} · run {self.state.run_id}"

    def pytest_html_results_summary(self, prefix, summary, postfix, session) -> None:
        s = self.state
        results = s.results
        e = html.escape
        counts = Counter(r["outcome"] for r in results)
        head = (f"<p>target <b>{e(s.target_name)}</b> ({e(s.target.environment)}) · suite {e(s.revision)}"
                + (f" · faults {e(', '.join(s.faults))}" if s.faults else "")
                + (f' · <a href="{e(s.ci_url)}">CI run</a>' if s.ci_url else "") + "</p>")
        line = " · ".join(f"{counts.get(o.value, 0)} {o.value}" for o in Outcome)
        rows = []
        for area in sorted({r["area"] for r in results}):
            a = Counter(r["outcome"] for r in results if r["area"] == area)
            rows.append("<tr><td>" + e(area) + "</td>" + "".join(f"<td>{a.get(o.value, 0)}</td>" for o in Outcome) + "</tr>")
        table = ('<table style="border-collapse:collapse" cellpadding="4" border="1"><tr><th>area</th>' + "".join(f"<th>{e(o.value)}</th>" for o in Outcome) + "</tr>"
                 + "".join(rows) + "</table>")
        fails = [r for r in results if r["outcome"] == Outcome.failed.value and r.get("finding")]
        fails.sort(key=lambda r: -Severity(r["finding"]["level"]).rank)
        items = "".join(
            f"<li><b>[{e(r['finding']['level'])}]</b> {e(r['check'])}{' (gate)' if r['gate'] else ''}: "
            f"{e(str(r['finding']['measured']))}: {e(str(r['finding']['value']))} "
            f"(threshold: {e(str(r['finding']['threshold']))})</li>" for r in fails)
        others = "".join(f"<li>{e(r['outcome'])}: {e(r['check'])}: {e(r.get('reason') or '')}</li>"
                         for r in results if r["outcome"] in (Outcome.not_run.value, Outcome.error.value))
        prefix.extend([head, f"<p><b>{e(line)}</b></p>", table])
        if items:
            prefix.append(f"<h3>Findings</h3><ul>{items}</ul>")
        if others:
            prefix.append(f"<h3>Not run / errors</h3><ul>{others}</ul>")
