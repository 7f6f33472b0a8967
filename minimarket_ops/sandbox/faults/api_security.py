"""Faults for the API security checks (checks/security/test_api_*.py).

Each is a behaviour of the sandbox's reference gateway (``gateway.API_FAULTS``, same
names) that breaks one thing. ``check`` names the check that must fail on it; the self-tests
(tests/test_security_api_checks.py) run every API security check on each fault and show
which others fail with it: only ``api_auth_off`` breaks two (with the platform and function
checks off, an authenticated user's token reaches the service-role functions too, so
role_separation fails along with protected_endpoints_require_auth).
"""

from __future__ import annotations

from minimarket_ops.sandbox.faults import Fault, register

register(
    Fault("api_auth_off", "api",
          "protected routes answer 2xx without any token (as after a redeploy with --no-verify-jwt and no "
          "function-level checks)", "protected_endpoints_require_auth"),
    Fault("api_unsigned_tokens", "api",
          "JWT signatures are not verified: tokens signed by another key and alg 'none' tokens are accepted",
          "protected_endpoints_require_auth"),
    Fault("api_role_mix", "api", "an authenticated user's token reaches the service-role functions",
          "role_separation"),
    Fault("api_cors_reflect", "api",
          "CORS reflects any Origin in Access-Control-Allow-Origin, with Access-Control-Allow-Credentials: true",
          "cors_policy"),
    Fault("api_leaky_errors", "api", "error responses carry a Python traceback, the SQL text and a file path",
          "no_internals_in_errors"),
    Fault("api_contract_break", "api",
          "the productos list breaks its contract (a required property missing, wrong types)",
          "contract_conformance"),
)
