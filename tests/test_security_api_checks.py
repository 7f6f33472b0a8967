"""The API security checks, each against the healthy sandbox and its gateway fault.

Every fault run selects all of the API security checks, so each test also shows which
checks its fault breaks: exactly its own, except api_auth_off, which breaks both auth
checks (with authentication off, a user's token reaches the service-role functions too).
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from minimarket_ops.sandbox.gateway import GatewayConfig, GatewayServer
from tests.harness import REPO
from tests.test_config import error_lines, run_with_overlay

API_CHECK_FILES = sorted(str(p.relative_to(REPO)) for p in (REPO / "checks" / "security").glob("test_api_*.py"))
API_CHECKS = sorted(p.split("/test_api_")[-1].removesuffix(".py") for p in API_CHECK_FILES)
HEADERS = "security_headers"  # not applicable on the (http) sandbox
PASSING = sorted(set(API_CHECKS) - {HEADERS})
SERVICE_ROUTES = ["GET /scraper-maxiconsumo/status", "GET /alertas-stock/status", "GET /notificaciones-tareas/status",
                  "GET /reportes-automaticos/status"]
DATA_ROUTE = "GET /api-minimarket/categorias?limite=1"
JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.")


def test_every_api_security_check_is_here():
    assert API_CHECKS == sorted(["protected_endpoints_require_auth", "role_separation", "cors_policy",
                                 "no_internals_in_errors", "security_headers", "contract_conformance"])


@pytest.mark.parametrize("check", PASSING)
def test_passes_on_healthy_sandbox(healthy_run, check):
    c = healthy_run.checks[check]
    assert c["outcome"] == "pass", c
    assert c["measurement"]["ok"] is True and c["measurement"]["value"] == 0, c


def test_security_headers_are_not_applicable_on_http(healthy_run):
    c = healthy_run.checks[HEADERS]
    assert c["outcome"] == "not applicable", c
    assert "served over http" in c["reason"], c


def test_healthy_run_fits_the_request_budget_and_the_rate_limits(healthy_run):
    """The whole suite in one run: no API check ran out of budget or met a 429."""
    for c in healthy_run.checks.values():
        assert "budget" not in (c.get("reason") or "") and "rate limited" not in (c.get("reason") or ""), c
    m = healthy_run.checks["protected_endpoints_require_auth"]["measurement"]["measured"]
    assert "25 unauthenticated probes" in m, m
    m = healthy_run.checks["contract_conformance"]["measurement"]["measured"]
    assert "14 GET operations" in m and "with a user's token" in m, m


# -- each fault breaks its check (and says so in the finding) -------------------------------
def run_api_checks(sandbox, *faults: str, **kw):
    return sandbox.run(*API_CHECK_FILES, faults=faults, **kw)


def failures_only(r, *checks: str) -> dict[str, dict]:
    """The given checks fail, every other API check passes (or is not applicable on http)."""
    others = {k: v for k, v in r.outcomes().items() if k not in checks and v not in ("pass", "not applicable")}
    assert not others, (others, r.output)
    assert r.outcome(HEADERS) == "not applicable"
    for check in checks:
        assert r.outcome(check) == "fail", r.output
    return {check: r.finding(check) for check in checks}


def test_auth_off_fails_both_auth_checks(sandbox):
    r = run_api_checks(sandbox, "api_auth_off")
    found = failures_only(r, "protected_endpoints_require_auth", "role_separation")
    f = found["protected_endpoints_require_auth"]
    assert f["level"] == "critica" and f["threshold"] == "every probe refused with 401/403"
    # 25 probes (5 routes x no token, anon key, expired, foreign-signed, alg none), all in the gateway's
    # "anon" rate-limit bucket: the 5 on the data route and the first 10 of the 20 on the service-role
    # functions are admitted; the other 10 meet the private limit (10/min) and are not judged.
    assert f["value"] == f["rows_total"] == 15 and len(f["rows"]) == 10, f
    assert f["measured"].endswith("; 10 probe(s) rate limited (429), not judged"), f
    no_token = {row["route"] for row in f["rows"] if row["probe"] == "no token"}
    assert no_token == {DATA_ROUTE, *SERVICE_ROUTES}, f
    assert all(200 <= row["status"] < 300 for row in f["rows"])
    g = found["role_separation"]
    assert g["value"] == 4 and {row["route"] for row in g["rows"]} == set(SERVICE_ROUTES), g
    assert r.exit_code == 1


def test_unsigned_tokens_fail_the_auth_check(sandbox):
    r = run_api_checks(sandbox, "api_unsigned_tokens")
    f = failures_only(r, "protected_endpoints_require_auth")["protected_endpoints_require_auth"]
    assert f["value"] == 10 and f["rows_total"] == 10, f  # 5 routes x (foreign key, alg none)
    probes = {row["probe"] for row in f["rows"]}
    assert probes == {"token signed by another key", "unsigned token (alg none)"}, f
    assert {row["route"] for row in f["rows"]} == {DATA_ROUTE, *SERVICE_ROUTES}
    # the gateway still checks expiry: the expired token is refused
    assert "expired token" not in probes


def test_role_mix_fails_role_separation(sandbox):
    r = run_api_checks(sandbox, "api_role_mix")
    f = failures_only(r, "role_separation")["role_separation"]
    assert f["level"] == "alta" and f["value"] == 4
    assert f["threshold"] == "every service-role function refuses the user token (401/403)"
    assert f["rows"][0] == {"route": SERVICE_ROUTES[0], "probe": "authenticated user token", "status": 200}


def test_reflected_cors_fails_cors_policy(sandbox):
    r = run_api_checks(sandbox, "api_cors_reflect")
    f = failures_only(r, "cors_policy")["cors_policy"]
    assert f["level"] == "alta" and f["value"] == 2  # reflected with credentials: the worst case
    assert f["threshold"] == "no foreign origin in Access-Control-Allow-Origin"
    assert {row["request"] for row in f["rows"]} == {"OPTIONS /api-minimarket/categorias (preflight)",
                                                      "GET /api-minimarket"}
    for row in f["rows"]:
        assert row["origin"] == row["allow_origin"] == "https://evil.example"
        assert row["allow_creds"] is True and row["why"] == "foreign origin"


def test_localhost_origin_fails_cors_policy_on_a_production_target(sandbox):
    r = sandbox.run("-k", "cors_policy", target={"environment": "production"})
    assert r.outcome("cors_policy") == "fail", r.output
    f = r.finding("cors_policy")
    assert f["level"] == "media" and f["value"] == 2, f  # allowed, but without credentials
    assert all(row["origin"] == row["allow_origin"] == "http://localhost:3000" for row in f["rows"])
    assert all(row["why"] == "development origin on a production target" for row in f["rows"])
    assert "https://minimarket.example.com)" in f["measured"] and "localhost:3000)" not in f["measured"]


def test_leaky_errors_fail_no_internals_in_errors(sandbox):
    r = run_api_checks(sandbox, "api_leaky_errors")
    f = failures_only(r, "no_internals_in_errors")["no_internals_in_errors"]
    assert f["level"] == "media" and f["value"] == 4
    assert f["threshold"] == "no stack trace, SQL text or file path in an error answer"
    assert {(row["probe"], row["status"]) for row in f["rows"]} == {
        ("unknown function", 404), ("unknown route", 404), ("method not allowed", 405), ("malformed id", 400)}
    assert all(row["leaks"] == "stack trace, SQL text, file path" for row in f["rows"]), f["rows"]


@pytest.mark.parametrize("body", [
    '{"error": "boom at /ci/clone-1/minimarket_ops/sandbox/gateway.py"}',  # a checkout outside the usual roots
    'Error\n    at handler (/deploy/functions/api-minimarket/index.ts:12:7)',
    '{"detail": "see /home/app/main.py line 3"}',
])
def test_file_paths_are_found_wherever_code_is_deployed(body):
    from checks.security.test_api_no_internals_in_errors import leaks
    assert "file path" in leaks(body)[0]


@pytest.mark.parametrize("body", [
    '{"error": {"code": "NOT_FOUND", "message": "route /functions/v1/api-minimarket/nada not found"}}',
    '{"error": "see https://minimarket.example.com/docs/errors.js for help"}',
])
def test_routes_and_urls_are_not_file_paths(body):
    from checks.security.test_api_no_internals_in_errors import leaks
    assert "file path" not in leaks(body)[0]


def test_contract_break_fails_contract_conformance(sandbox):
    r = run_api_checks(sandbox, "api_contract_break")
    f = failures_only(r, "contract_conformance")["contract_conformance"]
    assert f["level"] == "alta" and f["value"] == 1 and f["rows_total"] == 1
    assert f["threshold"] == ("every sampled answer conforms (no 5xx, documented status, content type, headers "
                              "and schema)")
    row = f["rows"][0]
    assert row["operation"] == "GET /api-minimarket/productos"
    assert row["checks"] == "response_schema_conformance" and row["status"] == "200"
    assert "required 'nombre'" in row["failure"] and "/pagination/total: type" in row["failure"]
    assert "si" not in row["failure"].split(), row  # where it differs, not the values


def test_a_failing_run_prints_no_token_or_key(sandbox):
    faults = ("api_unsigned_tokens", "api_leaky_errors", "api_cors_reflect", "api_contract_break")
    creds = sandbox.credentials(faults)
    r = sandbox.run(*API_CHECK_FILES, credentials=creds)
    assert r.exit_code == 1
    assert {k for k, v in r.outcomes().items() if v == "fail"} == {
        "protected_endpoints_require_auth", "cors_policy", "no_internals_in_errors", "contract_conformance"}
    texts = [r.output, *(p.read_text(errors="replace") for p in r.report_dir.rglob("*") if p.is_file())]
    everything = "\n".join(texts)
    for name in ("anon_key", "service_role_key", "user_jwt", "api_secret"):
        assert creds[name] not in everything, f"{name} leaked"
    assert sandbox.secrets.jwt_secret not in everything
    assert not JWT_SHAPE.search(everything), "a JWT-shaped string (a probe's forged token?) leaked"
    assert "Bearer" not in everything


# -- own gateways: rate limits, missing credentials --------------------------------------------
@pytest.fixture
def own_gateway(sandbox):
    """A gateway of the healthy database with its own rate limiters (not the shared healthy one)."""
    started = []

    def start(**cfg) -> dict[str, str]:
        gw = GatewayServer(GatewayConfig(conninfo=sandbox.admin_url(sandbox.database()),
                                         jwt_secret=sandbox.secrets.jwt_secret, api_secret=sandbox.secrets.api_secret,
                                         **cfg))
        started.append(gw)
        return {**sandbox.credentials(), "supabase_url": gw.start()}

    yield start
    for gw in started:
        gw.stop()


def test_a_rate_limited_probe_is_not_run_never_pass_or_fail(sandbox, own_gateway):
    creds = own_gateway(public_rate_per_min=3)
    r = sandbox.run("-k", "protected_endpoints_require_auth or role_separation", credentials=creds)
    for check in ("protected_endpoints_require_auth", "role_separation"):
        c = r.checks[check]
        assert c["outcome"] == "not run", c
        assert c["reason"].startswith("rate limited: ") and "answered 429" in c["reason"], c
    assert r.exit_code == 1


def test_credentials_the_target_lacks_make_probes_not_applicable(sandbox, own_gateway):
    creds = own_gateway()
    creds = {k: v for k, v in creds.items() if k not in ("user_jwt", "anon_key")}
    r = sandbox.run(*API_CHECK_FILES, credentials=creds)
    role = r.checks["role_separation"]
    assert role["outcome"] == "not applicable" and "configures no user JWT" in role["reason"], role
    auth = r.checks["protected_endpoints_require_auth"]
    assert auth["outcome"] == "pass", auth
    assert "anon-key probes are left out" in auth["measurement"]["measured"] and "20 unauthenticated" in \
        auth["measurement"]["measured"], auth
    # the reads fall back to the service role key
    contract = r.checks["contract_conformance"]
    assert contract["outcome"] == "pass" and "the service role key" in contract["measurement"]["measured"], contract
    assert r.checks["no_internals_in_errors"]["outcome"] == "pass"
    assert r.exit_code == 0, r.output


# -- https: security headers with a verified certificate ---------------------------------------
class HttpsFront:
    """A TLS reverse proxy on 127.0.0.1 in front of a gateway, with or without the headers."""

    def __init__(self, upstream: str, cert: Path, key: Path, add_headers: bool):
        import uvicorn

        self.upstream = upstream
        self.add_headers = add_headers
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._sock = sock
        self.url = f"https://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", ssl_certfile=str(cert),
                                ssl_keyfile=str(key), access_log=False, interface="asgi3")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)

    async def app(self, scope, receive, send):
        assert scope["type"] == "http"
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        url = self.upstream + scope["path"] + (("?" + scope["query_string"].decode()) if scope["query_string"] else "")
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"host"]
        async with httpx.AsyncClient() as client:
            r = await client.request(scope["method"], url, headers=headers, content=body)
        out = [(k, v) for k, v in r.headers.raw
               if k.lower() not in (b"content-length", b"transfer-encoding", b"connection", b"content-encoding")]
        if self.add_headers:
            out += [(b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
                    (b"x-content-type-options", b"nosniff")]
        await send({"type": "http.response.start", "status": r.status_code, "headers": out})
        await send({"type": "http.response.body", "body": r.content})

    def __enter__(self) -> "HttpsFront":
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "the https front did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


@pytest.fixture(scope="module")
def tls_cert(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@pytest.mark.parametrize("add_headers", [True, False], ids=["with-headers", "without-headers"])
def test_security_headers_on_an_https_target(sandbox, tls_cert, add_headers):
    cert, key = tls_cert
    creds = sandbox.credentials()
    with HttpsFront(creds["supabase_url"], cert, key, add_headers) as front:
        r = sandbox.run("-k", HEADERS, credentials={**creds, "supabase_url": front.url},
                        overlay={"api": {"ca_file": str(cert)}})
    if add_headers:
        assert r.outcome(HEADERS) == "pass", r.output
        return
    assert r.outcome(HEADERS) == "fail", r.output
    f = r.finding(HEADERS)
    assert f["level"] == "media" and f["value"] == 2
    assert f["threshold"] == ("every answer has Strict-Transport-Security (max-age > 0) and "
                              "X-Content-Type-Options: nosniff")
    assert [(row["request"], row["status"]) for row in f["rows"]] == [("GET /api-minimarket", 200),
                                                                     (f"{DATA_ROUTE}", 401)]
    assert all(row["missing"] == "Strict-Transport-Security, X-Content-Type-Options: nosniff" for row in f["rows"])


def test_security_headers_without_a_route_to_probe_are_not_applicable(sandbox, tls_cert):
    """No protected route and no service-role function: no refusal to probe, not applicable (not an error)."""
    cert, key = tls_cert
    creds = sandbox.credentials()
    with HttpsFront(creds["supabase_url"], cert, key, True) as front:
        r = sandbox.run("-k", HEADERS, credentials={**creds, "supabase_url": front.url},
                        overlay={"api": {"ca_file": str(cert)},
                                 "api_security": {"protected_routes": [], "service_role_functions": []}})
    c = r.checks[HEADERS]
    assert c["outcome"] == "not applicable", (c, r.output)
    assert "no protected route and no service-role function" in c["reason"], c
    assert r.exit_code == 0, r.output


def test_an_https_target_is_verified(sandbox, tls_cert):
    """Without the CA the certificate does not verify: the check cannot measure (not run)."""
    cert, key = tls_cert
    creds = sandbox.credentials()
    with HttpsFront(creds["supabase_url"], cert, key, True) as front:
        r = sandbox.run("-k", HEADERS, credentials={**creds, "supabase_url": front.url})
    c = r.checks[HEADERS]
    assert c["outcome"] == "not run" and c["reason"].startswith("API unreachable: ConnectError"), c


# -- configuration: probes stay safe and sensible ----------------------------------------------
@pytest.mark.parametrize("overlay,expected", [
    ({"api_security": {"foreign_origin": "http://localhost:3000"}},
     "api_security: Value error, foreign_origin must not be one of allowed_origins"),
    ({"api_security": {"error_probes": [{"name": "x", "method": "POST", "path": "/api-minimarket/categorias"}]}},
     "api_security.error_probes.0.method: Input should be 'GET', 'HEAD' or 'OPTIONS' (got 'POST')"),
    ({"api_security": {"protected_routes": [{"path": "https://elsewhere.example/x"}]}},
     "api_security.protected_routes.0.path: Value error, must be a path under /functions/v1 starting with '/'"),
    ({"api_security": {"allowed_origins": ["*"]}},
     "api_security.allowed_origins: Value error, not an origin (scheme://host[:port]): '*'"),
    ({"targets": {"sandbox": {"contract": "fixtures/openapi/nope.yaml"}}},
     "targets.sandbox.contract: Value error, contract document not found: fixtures/openapi/nope.yaml"),
])
def test_bad_api_security_configuration_stops_the_run(tmp_path, overlay, expected):
    r = run_with_overlay(tmp_path, overlay, "-k", "cors_policy")
    assert r.exit_code == 4, r.output
    lines = error_lines(r.output)
    assert lines and lines[0].startswith("ERROR: configuration: " + expected), lines


def test_a_target_without_a_contract_makes_contract_conformance_not_applicable(sandbox):
    r = sandbox.run("-k", "contract_conformance", target={"contract": ""})
    c = r.checks["contract_conformance"]
    assert c["outcome"] == "not applicable" and "configures no contract document" in c["reason"], c


def test_every_gateway_fault_is_registered_with_its_check():
    from minimarket_ops.sandbox import faults as registry
    from minimarket_ops.sandbox.gateway import API_FAULTS

    api_faults = {n: f for n, f in registry.all_faults().items() if f.kind == "api"}
    assert set(api_faults) == set(API_FAULTS)
    for name in ("api_auth_off", "api_unsigned_tokens", "api_role_mix", "api_cors_reflect", "api_leaky_errors",
                 "api_contract_break"):
        assert api_faults[name].check in API_CHECKS, name
