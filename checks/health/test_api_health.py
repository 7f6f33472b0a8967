import pytest


@pytest.mark.daily
@pytest.mark.critical
@pytest.mark.severity("critica")
def test_api_health(api, settings, thresholds, finding):
    """api-minimarket's health answers 200 'operational' with a healthy database, p95 within the SLO."""
    health_path = settings.api_security.public_path  # the public health route
    n = thresholds.api_health_samples_count
    lat = api.latency(health_path, n)
    bad = []
    for s in lat.samples:
        body = s.body or {}
        services = body.get("services") if isinstance(body.get("services"), dict) else {}
        if s.error or s.status != 200 or body.get("status") != "operational" or services.get("database") != "healthy":
            bad.append({"status": s.status if s.status is not None else s.error, "ms": round(s.ms, 1),
                        "reported_status": body.get("status"), "database": services.get("database")})
    if bad:
        finding.fail(
            measured=f"unhealthy answers from GET {health_path}",
            value=f"{len(bad)} of {n}",
            threshold="every answer 200 with status 'operational' and services.database 'healthy'",
            rows=bad,
            remediation="Check the edge function's deployment and logs in the Supabase dashboard, then the database; "
            "redeploy api-minimarket (keeping JWT verification on)",
            runbook="3.1",
        )
    finding.at_most(
        round(lat.p95_ms, 1),
        thresholds.api_health_p95_ms,
        threshold_name="api_health_p95_ms",
        unit=" ms",
        measured=f"p95 latency of GET {health_path} over {n} samples (p50 {lat.p50_ms:.1f} ms)",
        rows=[{"sample": i + 1, "status": s.status, "ms": round(s.ms, 1)} for i, s in enumerate(lat.samples)],
        remediation="Look for slow queries and cold starts (performance checks); the SLO is < 200 ms",
        runbook="1.1",
    )
