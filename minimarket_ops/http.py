"""HTTP access for API checks: one client per credential, a request budget, latency samples."""

from __future__ import annotations

import ssl
import statistics
import time
from dataclasses import dataclass, field
from typing import Literal

import httpx

from minimarket_ops.finding import NotRun

Role = Literal["none", "anon", "service_role", "user"]
# What a probe may send to any target (OPTIONS for CORS preflights).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class LatencySample:
    status: int | None
    ms: float
    error: str | None = None
    body: dict | None = None


@dataclass
class Latency:
    samples: list[LatencySample] = field(default_factory=list)

    @property
    def ok_ms(self) -> list[float]:
        return [s.ms for s in self.samples if s.error is None]

    def quantile(self, q: float) -> float:
        values = sorted(self.ok_ms)
        if not values:
            return float("nan")
        if len(values) == 1:
            return values[0]
        # statistics.quantiles, inclusive method: p95 of few samples stays within the samples.
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        return cuts[int(q * 100) - 1]

    @property
    def p50_ms(self) -> float:
        return self.quantile(0.50)

    @property
    def p95_ms(self) -> float:
        return self.quantile(0.95)


class Budget:
    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0

    def spend(self) -> None:
        if self.used >= self.limit:
            raise NotRun(f"API request budget of {self.limit} requests for this run is used up")
        self.used += 1

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


class Api:
    """Clients for a Supabase target: base URL SUPABASE_URL/functions/v1."""

    def __init__(self, supabase_url: str, *, timeout_s: float, budget: Budget, anon_key: str | None,
                 service_role_key: str | None, user_jwt: str | None, anon_key_as_bearer: bool = True,
                 target_name: str = "target", verify: ssl.SSLContext | bool = True, allow_writes: bool = False):
        self.base = supabase_url.rstrip("/") + "/functions/v1"
        self.allow_writes = allow_writes
        self.budget = budget
        self.target_name = target_name
        self._keys = {"anon": anon_key, "service_role": service_role_key, "user": user_jwt}
        self._anon_as_bearer = anon_key_as_bearer
        timeout = httpx.Timeout(timeout_s)
        self._client = httpx.Client(base_url=self.base, timeout=timeout, follow_redirects=False,
                                    headers={"user-agent": "minimarket-ops"}, verify=verify)

    @property
    def is_https(self) -> bool:
        return self.base.startswith("https://")

    def configured(self, role: Role) -> bool:
        """Whether the target configures the credential of `role` ("none" always is)."""
        return role == "none" or bool(self._keys[role])

    def key(self, role: Role) -> str | None:
        """The raw credential (for checks that derive probes from it; never print it)."""
        return None if role == "none" else self._keys[role]

    def headers(self, role: Role) -> dict[str, str]:
        if role == "none":
            return {}
        key = self._keys[role]
        if not key:
            import pytest

            what = {"anon": "anon key", "service_role": "service role key", "user": "user JWT"}[role]
            pytest.skip(f"target {self.target_name} configures no {what}")
        anon = self._keys["anon"]
        if role == "anon":
            h = {"apikey": key}
            if self._anon_as_bearer:
                h["authorization"] = f"Bearer {key}"
            return h
        h = {"authorization": f"Bearer {key}"}
        if role == "service_role":
            h["apikey"] = key
        elif anon:
            h["apikey"] = anon
        return h

    def request(self, method: str, path: str, *, role: Role = "none", headers: dict | None = None,
                **kw) -> httpx.Response:
        if method.upper() not in READ_METHODS and not self.allow_writes:
            # A suite bug, never a finding: checks are read-only unless the target allows writes.
            raise RuntimeError(f"refused {method.upper()} {path}: target {self.target_name} does not allow writes")
        h = self.headers(role)  # may skip (credential not configured): no request, no budget spent
        self.budget.spend()
        if headers:
            h.update(headers)
        return self._client.request(method, path, headers=h, **kw)

    def get(self, path: str, **kw) -> httpx.Response:
        return self.request("GET", path, **kw)

    def latency(self, path: str, samples: int, *, role: Role = "none") -> Latency:
        out = Latency()
        for _ in range(samples):
            start = time.perf_counter()
            try:
                r = self.get(path, role=role)
                ms = (time.perf_counter() - start) * 1000
                try:
                    body = r.json()
                except ValueError:
                    body = None
                out.samples.append(LatencySample(r.status_code, ms, None, body if isinstance(body, dict) else None))
            except httpx.TransportError as exc:
                ms = (time.perf_counter() - start) * 1000
                out.samples.append(LatencySample(None, ms, f"{type(exc).__name__}"))
        return out

    def close(self) -> None:
        self._client.close()


def api_not_run_reason(exc: BaseException) -> str | None:
    """Why an API check could not measure (the API's counterpart of db.not_run_reason)."""
    if isinstance(exc, httpx.TransportError):
        return f"API unreachable: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
    return None
