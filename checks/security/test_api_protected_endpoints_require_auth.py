import pytest

from checks.security._api_probes import RATE_LIMITED, REFUSED, bearer, forged_tokens, rate_limited, send
from minimarket_ops.finding import NotRun

NO_TOKEN = "no token"
ANON_KEY = "anon key"


@pytest.mark.daily
@pytest.mark.critical
@pytest.mark.severity("critica")
def test_protected_endpoints_require_auth(api, settings, finding):
    """Protected routes refuse no token, expired, foreign-signed and unsigned tokens, and the anon key where a user or the service role is needed (runbook 7.2, errata 18)."""
    cfg = settings.api_security
    routes = cfg.probe_routes()
    if not routes:
        pytest.skip("api_security names no protected route and no service-role function to probe")
    tokens = forged_tokens(api)
    has_anon = api.configured("anon")
    # Probe-major: the most telling probe (no token at all) reaches every route first.
    answers = [send(api, NO_TOKEN, "GET", r.path) for r in routes]
    if has_anon:
        answers += [send(api, ANON_KEY, "GET", r.path, role="anon") for r in routes if r.requires != "token"]
    for name, token in tokens.items():
        answers += [send(api, name, "GET", r.path, headers=bearer(api, token)) for r in routes]

    admitted = [a for a in answers if a.ok]
    unjudged = [a for a in answers if not a.ok and a.status not in REFUSED]
    left_out = "" if has_anon else "; the anon-key probes are left out (target configures no anon key)"
    limited = sum(1 for a in unjudged if a.status == RATE_LIMITED)
    measured = (f"protected routes answering 2xx to {len(answers)} unauthenticated probes "
                f"({len(routes)} routes x no token, anon key, expired, foreign-signed, alg none){left_out}"
                + (f"; {limited} probe(s) rate limited (429), not judged" if limited else ""))
    if admitted:
        finding.fail(
            measured=measured,
            value=len(admitted),
            threshold="every probe refused with 401/403",
            rows=[{"route": a.request, "probe": a.probe, "status": a.status} for a in admitted],
            remediation="Redeploy the functions with JWT verification on (no --no-verify-jwt) and make each "
            "function's own code refuse the anon key where it needs a user or the service role; do not let "
            "traffic back in until this passes",
            runbook="7.2",
        )
    if limited:
        raise rate_limited(answers)
    if unjudged:
        sample = ", ".join(f"{a.request} ({a.probe}) -> {a.status}" for a in unjudged[:5])
        raise NotRun(f"{len(unjudged)} probe(s) answered neither 2xx nor 401/403, so the auth cannot be judged: "
                     f"{sample}; check api_security.protected_routes and service_role_functions")
    finding.record(measured=measured, value=0, threshold="every probe refused with 401/403", ok=True)
