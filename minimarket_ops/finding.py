"""The finding: what a check measured, against what, the offending rows, what to do.

It is data, not only a message: the plugin puts it on the test report so reports, JSON
results, metrics and alerts read the same fields.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from minimarket_ops.masking import Redactor, jsonable, mask_row
from minimarket_ops.vocabulary import Severity

MAX_SAMPLE_ROWS = 10

_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt, "==": operator.eq}


@dataclass
class Finding:
    check: str
    level: str
    measured: str
    value: Any
    threshold: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    rows_total: int | None = None
    remediation: str = ""
    runbook: str | None = None

    def message(self) -> str:
        lines = [f"[{self.level}] {self.measured}: {self.value} (threshold: {self.threshold})"]
        if self.rows:
            total = self.rows_total if self.rows_total is not None else len(self.rows)
            lines.append(f"  sample ({len(self.rows)} of {total}):")
            for row in self.rows:
                lines.append("    " + ", ".join(f"{k}={v}" for k, v in row.items()))
        if self.remediation:
            where = f" (runbook {self.runbook})" if self.runbook else ""
            lines.append(f"  remediation: {self.remediation}{where}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fmt(value: Any) -> str:
    """Numbers as an operator writes them: 500, not 500.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class CheckFailed(AssertionError):
    """A check measured a problem: outcome *fail*, with its finding."""

    def __init__(self, finding: Finding):
        super().__init__(finding.message())
        self.finding = finding


class NotRun(Exception):
    """Something stopped the check from measuring: outcome *not run*, with the reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class FindingRecorder:
    """Handed to each check as the `finding` fixture."""

    def __init__(self, check: str, severity: Severity, redact: Redactor, mask_personal: bool = True):
        self.check = check
        self.severity = severity
        self._redact = redact
        self._mask_personal = mask_personal
        self.measurement: dict[str, Any] | None = None

    def _rows(self, rows: Iterable[Mapping[str, Any]], personal: Iterable[str]) -> list[dict[str, Any]]:
        personal = tuple(personal)
        return [mask_row(r, self._redact, self._mask_personal, personal) for r in list(rows)[:MAX_SAMPLE_ROWS]]

    def compare(
        self,
        value: Any,
        op: str,
        limit: Any,
        *,
        threshold_name: str,
        measured: str,
        remediation: str,
        runbook: str | None = None,
        rows: Iterable[Mapping[str, Any]] = (),
        rows_total: int | None = None,
        level: Severity | None = None,
        unit: str = "",
        personal: Iterable[str] = (),
    ) -> None:
        """Pass when `value op limit` holds; otherwise fail with the finding."""
        ok = _OPS[op](value, limit)
        threshold = f"{threshold_name} {op} {fmt(limit)}{unit}"
        self.record(measured=measured, value=value, threshold=threshold, ok=ok)
        if not ok:
            self.fail(
                measured=measured,
                value=f"{fmt(value)}{unit}" if unit else value,
                threshold=threshold,
                rows=rows,
                rows_total=rows_total,
                remediation=remediation,
                runbook=runbook,
                level=level,
                personal=personal,
            )

    def at_most(self, value: Any, limit: Any, **kw: Any) -> None:
        self.compare(value, "<=", limit, **kw)

    def at_least(self, value: Any, limit: Any, **kw: Any) -> None:
        self.compare(value, ">=", limit, **kw)

    def record(self, *, measured: str, value: Any, threshold: str, ok: bool) -> None:
        # Redacted here: the measurement travels in user_properties, which JUnit XML writes as is.
        self.measurement = {
            "measured": self._redact(measured),
            "value": self._redact(value) if isinstance(value, str) else jsonable(value),
            "threshold": threshold,
            "ok": ok,
        }

    def fail(
        self,
        *,
        measured: str,
        value: Any,
        threshold: str,
        remediation: str,
        runbook: str | None = None,
        rows: Iterable[Mapping[str, Any]] = (),
        rows_total: int | None = None,
        level: Severity | None = None,
        personal: Iterable[str] = (),
    ) -> None:
        """Fail the check with its finding; `personal` names sample columns to mask."""
        level = level or self.severity
        rows = list(rows)
        if rows_total is None and rows:
            rows_total = len(rows)  # counted before the sample is cut to MAX_SAMPLE_ROWS
        if level.rank > self.severity.rank:
            raise ValueError(f"{self.check}: level {level.value} above the declared {self.severity.value}")
        finding = Finding(
            check=self.check,
            level=level.value,
            measured=self._redact(measured),
            value=self._redact(str(value)) if isinstance(value, str) else jsonable(value),
            threshold=threshold,
            rows=self._rows(rows, personal),
            rows_total=rows_total,
            remediation=self._redact(remediation),
            runbook=runbook,
        )
        if self.measurement is None:
            self.record(measured=finding.measured, value=finding.value, threshold=threshold, ok=False)
        raise CheckFailed(finding)
