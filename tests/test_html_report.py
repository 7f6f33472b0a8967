"""The HTML report as an operator sees it: rendered by headless Chromium (pytest-html builds
its table in JavaScript, so the file's text alone proves little)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from html import unescape
from pathlib import Path

import pytest

from minimarket_ops.vocabulary import Outcome

# .ci/run installs Debian's chromium and sets this, so CI never skips the test (a set
# path that does not exist fails it).
CHROMIUM = os.environ.get("MINIMARKET_OPS_CHROMIUM") or shutil.which("chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM, reason="chromium not installed (apt-get install chromium)")

# The flags the machine needs: without the background-networking ones Chromium keeps
# knocking on a closed network; as root it needs --no-sandbox.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def render(page: Path, *extra: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
                              capture_output=True, timeout=120, check=True)


def text(fragment: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def rendered_rows(dom: str) -> dict[str, dict[str, str]]:
    """check id -> the rendered row's cells and its log, from the table JavaScript built."""
    rows = {}
    for body in re.findall(r'<tbody class="results-table-row[^"]*"[^>]*>(.*?)</tbody>', dom, re.S):
        cells = dict(re.findall(r'<td class="col-(\w+)[^"]*">(.*?)</td>', body, re.S))
        log = re.search(r'<div class="log">(.*?)</div>', body, re.S)
        if "testId" not in cells:  # the page's row templates
            continue
        check = cells["testId"].rsplit("::test_", 1)[-1]
        rows[check] = {k: text(v) for k, v in cells.items()} | {"log": text(log.group(1)) if log else ""}
    return rows


@pytest.fixture(scope="module")
def broken_run(sandbox):
    """Daily checks with a data fault (a fail), the API down (not run) and the loopback
    target's encryption check (not applicable): four of the six outcomes on one page."""
    return sandbox.run("-m", "daily", faults=("orphan_products", "api_down"))


@pytest.fixture(scope="module")
def dom(broken_run) -> str:
    return render(broken_run.report_dir / "report.html", "--dump-dom").stdout.decode()


def test_rows_carry_the_suite_outcome_severity_and_area(broken_run, dom):
    rows = rendered_rows(dom)
    assert set(rows) == set(broken_run.checks), "every check has its row"
    for check, result in broken_run.checks.items():
        assert rows[check]["outcome"] == result["outcome"], check
        assert rows[check]["area"] == result["area"], check
    orphan = rows["products_without_category"]
    assert (orphan["outcome"], orphan["severity"]) == (Outcome.failed.value, "critica")
    assert "products whose categoria_id points at no category: 3" in orphan["log"]
    assert rows["cors_policy"]["outcome"] == Outcome.not_run.value
    assert rows["cors_policy"]["log"].startswith("not run: API unreachable")
    enc = rows["database_connection_encrypted"]
    assert enc["outcome"] == Outcome.not_applicable.value
    assert enc["log"].startswith("not applicable: loopback target"), "the reason, not pytest's skip tuple"


def test_summary_counts_the_six_outcomes_like_results_json(broken_run, dom):
    counts = {o.value: sum(1 for c in broken_run.checks.values() if c["outcome"] == o.value) for o in Outcome}
    line = " · ".join(f"{counts[o.value]} {o.value}" for o in Outcome)
    assert line in text(dom)
    findings = text(re.search(r"<h3>Findings</h3>\s*<ul>(.*?)</ul>", dom, re.S).group(1))
    assert "[critica] products_without_category (gate)" in findings
    assert "[critica] api_health (gate)" in findings


def test_filter_boxes_speak_the_suite_words(dom):
    labels = [text(s) for s in re.findall(r'<span class="(?:passed|failed|skipped|error)">(.*?)</span>', dom)]
    assert labels and not any(re.search(r"\b(Passed|Failed|Skipped|Errors)\b", label) for label in labels), labels
    assert any(label.endswith("not applicable,") for label in labels)


def test_report_renders_to_a_picture(broken_run, tmp_path):
    png = tmp_path / "report.png"
    render(broken_run.report_dir / "report.html", "--window-size=1400,1600", f"--screenshot={png}")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
