import pytest

from checks.security._api_probes import REFUSED, raise_if_rate_limited, send
from minimarket_ops.finding import NotRun

PROBE = "authenticated user token"


@pytest.mark.daily
@pytest.mark.severity("alta")
def test_role_separation(api, settings, finding):
    """A logged-in user's token is refused by every service-role function (runbook 7.2)."""
    cfg = settings.api_security
    if not api.configured("user"):
        pytest.skip(f"target {api.target_name} configures no user JWT (user_jwt_env): role separation needs one")
    routes = [r for r in cfg.probe_routes() if r.requires == "service_role"]
    if not routes:
        pytest.skip("api_security.service_role_functions is empty: no service-role function to probe")
    answers = [send(api, PROBE, "GET", r.path, role="user") for r in routes]
    admitted = [a for a in answers if a.ok]
    unjudged = [a for a in answers if not a.ok and a.status not in REFUSED]
    measured = f"service-role functions answering 2xx to an authenticated user's token ({len(routes)} probed)"
    threshold = "every service-role function refuses the user token (401/403)"
    if admitted:
        finding.fail(
            measured=measured,
            value=len(admitted),
            threshold=threshold,
            rows=[{"route": a.request, "probe": a.probe, "status": a.status} for a in admitted],
            remediation="Make each service-role function check the caller's role claim (service_role) in its own "
            "code, not only that the JWT is valid; rotate the service role key if it was relied on as a user "
            "token",
            runbook="7.2",
        )
    raise_if_rate_limited(answers)
    if unjudged:
        sample = ", ".join(f"{a.request} -> {a.status}" for a in unjudged[:5])
        raise NotRun(f"{len(unjudged)} probe(s) answered neither 2xx nor 401/403: {sample}; "
                     "check api_security.service_role_functions and service_probe_path")
    finding.record(measured=measured, value=0, threshold=threshold, ok=True)
