"""A run's results summed up in the suite's words, for the three places that show them:
the terminal summary (plugin), the demo's one screen (cli) and the HTML report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from minimarket_ops.vocabulary import Outcome, Severity

Result = Mapping[str, Any]


def outcome_counts(results: Iterable[Result]) -> dict[str, int]:
    """Outcome -> count, all six in their order (zeros included)."""
    c = Counter(r["outcome"] for r in results)
    return {o.value: c.get(o.value, 0) for o in Outcome}


def outcome_line(counts: Mapping[str, int], sep: str = " · ") -> str:
    return sep.join(f"{counts[o.value]} {o.value}" for o in Outcome)


def counts_by_area(results: Iterable[Result]) -> dict[str, dict[str, int]]:
    results = list(results)
    return {area: outcome_counts(r for r in results if r["area"] == area)
            for area in sorted({r["area"] for r in results})}


def failures(results: Iterable[Result]) -> list[Result]:
    """Failed checks with their finding, highest level first."""
    fails = [r for r in results if r["outcome"] == Outcome.failed.value and r.get("finding")]
    return sorted(fails, key=lambda r: -Severity(r["finding"]["level"]).rank)


def finding_text(finding: Mapping[str, Any]) -> str:
    """The first line of a finding after its level: measured, value, threshold."""
    return f"{finding['measured']}: {finding['value']} (threshold: {finding['threshold']})"
