import re

import pytest

from checks.security._api_probes import raise_if_rate_limited, send

MAX_AGE = re.compile(r"(?i)(?:^|;)\s*max-age\s*=\s*\"?(\d+)\"?")


def hsts_max_age(value: str | None) -> int | None:
    m = MAX_AGE.search(value or "")
    return int(m.group(1)) if m else None


@pytest.mark.weekly
@pytest.mark.severity("media")
def test_security_headers(api, settings, finding):
    """https answers carry HSTS (max-age > 0) and X-Content-Type-Options: nosniff (not applicable on http)."""
    if not api.is_https:
        pytest.skip(f"target {api.target_name} is served over http: HSTS and nosniff apply to https targets")
    cfg = settings.api_security
    routes = cfg.probe_routes()
    if not routes:
        pytest.skip("api_security names no protected route and no service-role function: "
                    "no refusal to probe for the headers")
    # A public answer and a refusal: the headers belong on every answer, errors included.
    answers = [send(api, "public", "GET", cfg.public_path),
               send(api, "refusal without token", "GET", routes[0].path)]
    raise_if_rate_limited(answers)
    rows = []
    for a in answers:
        missing = []
        max_age = hsts_max_age(a.headers.get("strict-transport-security"))
        if not max_age:
            missing.append("Strict-Transport-Security" if max_age is None else "Strict-Transport-Security (max-age=0)")
        if a.headers.get("x-content-type-options", "").strip().lower() != "nosniff":
            missing.append("X-Content-Type-Options: nosniff")
        if missing:
            rows.append({"request": a.request, "status": a.status, "missing": ", ".join(missing)})
    measured = f"https answers missing HSTS or nosniff, of {len(answers)} probed"
    threshold = "every answer has Strict-Transport-Security (max-age > 0) and X-Content-Type-Options: nosniff"
    if rows:
        finding.fail(
            measured=measured,
            value=len(rows),
            threshold=threshold,
            rows=rows,
            remediation="Add Strict-Transport-Security (e.g. max-age=31536000; includeSubDomains) and "
            "X-Content-Type-Options: nosniff to every answer, in the functions' shared response helper or at "
            "the proxy in front of them",
            runbook="7.1",
        )
    finding.record(measured=measured, value=0, threshold=threshold, ok=True)
