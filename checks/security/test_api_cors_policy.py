import pytest

from checks.security._api_probes import raise_if_rate_limited, send
from minimarket_ops.vocabulary import Severity


@pytest.mark.daily
@pytest.mark.severity("alta")
def test_cors_policy(api, settings, target, finding):
    """CORS allows no foreign origin, and no development origin on a production target (TARGET-SYSTEM: CORS)."""
    cfg = settings.api_security
    foreign = cfg.origins_to_refuse(target.environment)
    answers = []
    for origin in foreign:
        answers.append(send(api, origin, "OPTIONS", cfg.cors_probe_path, headers={
            "origin": origin, "access-control-request-method": "GET",
            "access-control-request-headers": "authorization, apikey"}))
        answers.append(send(api, origin, "GET", cfg.public_path, headers={"origin": origin}))
    offending = []
    for a in answers:
        allow = a.headers.get("access-control-allow-origin")
        if allow is None or allow.strip() not in (a.probe, "*"):
            continue
        credentials = a.headers.get("access-control-allow-credentials", "").strip().lower() == "true"
        offending.append({
            "origin": a.probe,
            "request": a.request + (" (preflight)" if a.method == "OPTIONS" else ""),
            "allow_origin": allow.strip(),
            "allow_creds": credentials,  # a column named *credential* would be masked
            "why": "foreign origin" if a.probe == cfg.foreign_origin else "development origin on a production target",
        })
    allowed = cfg.allowed_origins_for(target.environment)
    measured = (f"CORS answers allowing an origin outside the target's ({', '.join(allowed)}) "
                f"to {len(answers)} probes from {', '.join(foreign)}")
    threshold = "no foreign origin in Access-Control-Allow-Origin"
    if offending:
        # Reflection with credentials lets any site act with the user's session: the worst case.
        with_credentials = any(row["allow_creds"] for row in offending)
        finding.fail(
            measured=measured,
            value=len(offending),
            threshold=threshold,
            rows=offending,
            level=Severity.alta if with_credentials else Severity.media,
            remediation="Answer CORS from a fixed allow-list (the front end's origin; http://localhost:3000 only "
            "outside production), never by echoing the request's Origin or '*', and send "
            "Access-Control-Allow-Credentials only for allowed origins",
            runbook="7.1",
        )
    raise_if_rate_limited(answers)
    finding.record(measured=measured, value=0, threshold=threshold, ok=True)
