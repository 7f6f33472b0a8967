"""Every check is proven (DESIGN "Proof"): a sandbox fault names it as the check it must
fail, or, where the sandbox cannot carry the fault, the list below says which self-test
builds the broken target instead. A new check without either fails here."""

from __future__ import annotations

import re

from minimarket_ops.sandbox import faults as registry
from tests.harness import REPO

# check -> where its failing side is proven, for faults no sandbox database or gateway carries
PROVEN_ELSEWHERE = {
    "database_connection_encrypted": "tests/test_security_db_checks.py: a TLS cluster and loopback_is_local = false",
    "security_headers": "tests/test_security_api_checks.py: an https front with and without the headers",
}


def check_ids() -> set[str]:
    ids = set()
    for path in (REPO / "checks").rglob("test_*.py"):
        ids |= set(re.findall(r"^def test_(\w+)\(", path.read_text(), re.M))
    return ids


def test_every_check_has_a_fault_or_says_where_it_is_proven():
    checks = check_ids()
    by_fault = {f.check for f in registry.all_faults().values()}
    assert checks - by_fault - set(PROVEN_ELSEWHERE) == set(), "checks without a fault"
    assert by_fault <= checks, f"faults naming no check: {by_fault - checks}"
    assert not set(PROVEN_ELSEWHERE) & by_fault, "a check with a fault needs no exception"
    for where in PROVEN_ELSEWHERE.values():
        assert (REPO / where.split(":")[0]).is_file(), where


def test_every_fault_is_used_by_a_self_test():
    texts = "".join(p.read_text() for p in (REPO / "tests").glob("test_*.py"))
    unused = {name for name in registry.all_faults() if f'"{name}"' not in texts}
    assert unused == set(), f"faults no self-test switches on: {sorted(unused)}"
