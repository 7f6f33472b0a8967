"""Shared by the API security checks (test_api_*.py): forged tokens, probes, answers.

Probes are GET, HEAD or OPTIONS requests on paths no function acts on (DESIGN, safety),
sent through the run's `api` client, so each one is counted against the run's request
budget. No token or key is ever put into a finding: probes are named ("expired token"),
never shown.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass

import httpx
import jwt

from minimarket_ops.finding import NotRun
from minimarket_ops.http import Api, Role

REFUSED = frozenset({401, 403})
RATE_LIMITED = 429
# Claims a minted token takes over from the target's anon key (project ref, issuer, audience).
_KEPT_CLAIMS = ("iss", "ref", "aud")


@dataclass
class Answer:
    probe: str
    method: str
    path: str
    status: int
    headers: httpx.Headers
    text: str

    @property
    def request(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def send(api: Api, probe: str, method: str, path: str, *, role: Role = "none",
         headers: dict[str, str] | None = None) -> Answer:
    r = api.request(method, path, role=role, headers=headers)
    return Answer(probe, method, path, r.status_code, r.headers, r.text)


def raise_if_rate_limited(answers: list[Answer]) -> None:
    """A 429 means the target refused to be measured: not run, whatever else was seen."""
    if any(a.status == RATE_LIMITED for a in answers):
        raise rate_limited(answers)


def rate_limited(answers: list[Answer]) -> NotRun:
    a = next(a for a in answers if a.status == RATE_LIMITED)
    n = sum(1 for x in answers if x.status == RATE_LIMITED)
    retry = a.headers.get("retry-after")
    return NotRun(f"rate limited: {n} probe(s) answered 429, first {a.request} ({a.probe})"
                  + (f", Retry-After {retry} s" if retry else "")
                  + "; the request budget or the schedule is too dense for the target's limits")


def _anon_claims(api: Api) -> dict:
    anon = api.key("anon")
    if not anon:
        return {}
    try:
        claims = jwt.decode(anon, options={"verify_signature": False})
    except jwt.PyJWTError:  # an sb_publishable_ key is not a JWT
        return {}
    return {k: claims[k] for k in _KEPT_CLAIMS if k in claims}


def forged_tokens(api: Api) -> dict[str, str]:
    """Probe name -> a token no correct target accepts, each claiming the service role.

    Minted from the claims of the target's anon key (so it looks like the project's own)
    with a random throwaway key, never the target's secret: the suite does not have it.
    The service role is claimed so that a target that skips the verification would let
    the token through everywhere (a role it refuses anyway would prove nothing)."""
    now = int(time.time())
    claims = {"iss": "supabase", **_anon_claims(api), "role": "service_role", "sub": str(uuid.uuid4())}
    key = secrets.token_bytes(32)
    return {
        "expired token": jwt.encode({**claims, "iat": now - 7200, "exp": now - 3600}, key, algorithm="HS256"),
        "token signed by another key": jwt.encode({**claims, "iat": now, "exp": now + 300}, key, algorithm="HS256"),
        "unsigned token (alg none)": jwt.encode({**claims, "iat": now, "exp": now + 300}, None, algorithm="none"),
    }


def bearer(api: Api, token: str) -> dict[str, str]:
    """A forged token sent the way a client sends its credentials: apikey + Bearer."""
    h = {"authorization": f"Bearer {token}"}
    anon = api.key("anon")
    if anon:
        h["apikey"] = anon
    return h


def reader_role(api: Api) -> Role | None:
    """The credential that reads data routes: a user's JWT, else the service role key."""
    for role in ("user", "service_role"):
        if api.configured(role):
            return role
    return None
