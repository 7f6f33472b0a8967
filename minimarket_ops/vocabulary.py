"""The suite's one vocabulary (DESIGN.md, "Words and outcomes").

Every module, report and document uses these words and nothing else.
"""

from __future__ import annotations

from enum import Enum


class Severity(str, Enum):
    """The runbook's severities, highest first, plus `info` (report-only)."""

    critica = "critica"
    alta = "alta"
    media = "media"
    baja = "baja"
    info = "info"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.critica: 4, Severity.alta: 3, Severity.media: 2, Severity.baja: 1, Severity.info: 0}


class Outcome(str, Enum):
    """The six outcomes, kept apart everywhere."""

    passed = "pass"
    failed = "fail"
    silenced = "silenced"
    not_applicable = "not applicable"
    not_run = "not run"
    error = "error"


CADENCES = ("daily", "weekly", "monthly")
GATE_MARKER = "critical"
SEVERITY_MARKER = "severity"

# Areas are the folders of checks/; each is also a marker.
AREAS = {
    "health": "service reachability and latency (runbook 1.1, 3.1)",
    "integrity": "data integrity and schema drift (runbook 3.3, 6.1)",
    "security": "database and API security (runbook 7.1, 7.2)",
    "performance": "query and resource performance (runbook 3.2)",
    "business": "stock, prices, tasks (runbook 4.2, 8.1)",
    "maintenance": "bloat, retention, cron jobs (runbook 6.1)",
    "backup": "backups and restores (runbook 2)",
}

# Markers a check gets from what it uses, so a target can declare them not applicable.
USES_MARKERS = {
    "uses_database": "the check reads the target's database",
    "uses_api": "the check calls the target's HTTP API",
}


class ExitCode:
    """pytest's exit codes with the suite's refinement (3 = the suite is broken)."""

    OK = 0
    SICK = 1  # a check failed or did not run
    INTERRUPTED = 2
    SUITE_BROKEN = 3  # a check errored or the suite itself failed
    USAGE = 4
    NOTHING_SELECTED = 5


class GateExit:
    GO = 0
    NO_GO = 1
    CANNOT_EVALUATE = 2
