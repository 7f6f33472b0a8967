"""The sandbox's reference API gateway: answers like Mini Market's edge functions.

It stands in for the Supabase Edge Functions of the production system
(TARGET-SYSTEM.md, "Edge functions") so that the API checks can run against the
embedded sandbox through the same HTTP clients they use on production:

- ``/functions/v1/api-minimarket``: the REST gateway (health without auth; every
  other route needs a logged-in user: role ``authenticated`` or ``service_role``).
- ``/functions/v1/api-proveedor/status``: the supplier API's public status.
- ``/functions/v1/{scraper-maxiconsumo,alertas-stock,notificaciones-tareas,
  reportes-automaticos}/status``: a harmless probe per service-role function
  (the scraper also accepts a correct ``x-api-secret``). The functions never act.

Platform behaviour is modelled in one ASGI middleware (CORS, rate limits, platform
JWT verification, the function's own role checks, error shape); the routes read
the sandbox database with LIMIT/OFFSET. Faults (``API_FAULTS``) each break one
thing so that the API checks can be proven.

The contract the gateway is held to is ``fixtures/openapi/minimarket-api.yaml``,
written by hand; nothing here generates it.

Secrets (the JWT secret, the API secret, the conninfo and its password, the
tokens a client sends) never appear in a response or a log line: error bodies
carry fixed messages, and even the ``api_leaky_errors`` fault scrubs them.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import logging
import math
import os
import re
import signal
import socket
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Annotated, Any

import fastapi
import jwt
import psycopg
import uvicorn
from psycopg import errors as pg_errors
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

log = logging.getLogger("minimarket_ops.sandbox.gateway")  # stable name, also under -m

PREFIX = "/functions/v1"
VERSION = "2.0.0"
ROLES = frozenset({"anon", "authenticated", "service_role"})
USER_ROLES = frozenset({"authenticated", "service_role"})
API_FUNCTION = "api-minimarket"
PROVEEDOR_FUNCTION = "api-proveedor"
SCRAPER_FUNCTION = "scraper-maxiconsumo"
SERVICE_FUNCTIONS = (SCRAPER_FUNCTION, "alertas-stock", "notificaciones-tareas", "reportes-automaticos")
FUNCTIONS = (API_FUNCTION, PROVEEDOR_FUNCTION, *SERVICE_FUNCTIONS)

# The faults this gateway implements. What each breaks is said once, in the fault registry
# (sandbox/faults/); a self-test keeps the two sets equal.
API_FAULTS = frozenset({"api_slow", "api_5xx", "api_auth_off", "api_unsigned_tokens", "api_cors_reflect",
                        "api_role_mix", "api_leaky_errors", "api_contract_break"})

WINDOW_S = 60.0
DB_PING_TIMEOUT_S = 1.0
DB_STATUS_TIMEOUT_S = 2.0
DB_ACQUIRE_TIMEOUT_S = 5.0
STATEMENT_TIMEOUT = "10s"
LOCK_TIMEOUT = "3s"
SCRAPING_STALE_AFTER_S = 48 * 3600
MAX_BODY_BYTES = 64 * 1024
APPLICATION_NAME = "minimarket-sandbox-gateway"

CORS_ALLOW_METHODS = "GET, HEAD, POST, PUT, DELETE, OPTIONS"
CORS_ALLOW_HEADERS = "authorization, x-client-info, apikey, content-type, x-api-secret"
CORS_EXPOSE_HEADERS = "Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining"

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
UUID_RE = re.compile(UUID_PATTERN)
INT_RE = re.compile(r"^[0-9]{1,18}$")
TIPOS_MOVIMIENTO = ("entrada", "salida", "ajuste")


# --------------------------------------------------------------------------------------
# configuration, tokens
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GatewayConfig:
    conninfo: str = field(repr=False)
    jwt_secret: str = field(repr=False)
    api_secret: str = field(repr=False)
    faults: frozenset[str] = frozenset()
    allowed_origins: tuple[str, ...] = ("https://minimarket.example.com", "http://localhost:3000")
    public_rate_per_min: int = 100
    private_rate_per_min: int = 10
    slow_ms: int = 1500


class ApiError(Exception):
    """An answer in the documented error shape. Writes: a missing path resource is 404; a body
    that conflicts with the data (duplicate, missing referenced record, record in use, cycle,
    not enough stock) is 409 VALIDATION_ERROR; a malformed body is 400."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass
class Identity:
    """What the platform learnt from the request's credentials."""

    role: str | None = None  # verified role
    subject: str | None = None  # verified sub claim
    error: str | None = None  # "missing" | "invalid" | None
    api_secret_ok: bool = False

    @property
    def bucket(self) -> str:
        """Rate-limit subject: the token's sub, else its role for the service key, else "anon"."""
        if self.subject:
            return f"sub:{self.subject}"
        if self.role == "service_role":
            return "service_role"
        if self.api_secret_ok and self.role is None:
            return "api-secret"
        return "anon"


@dataclass
class RequestContext:
    """Per-request state shared by the middleware and the handlers (scope["mm"])."""

    sql: str | None = None
    secrets: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # added to the response


class RateLimiter:
    """Sliding 60 s window per key, in-process. Refused requests do not count."""

    def __init__(self, limit: int, window_s: float = WINDOW_S):
        self.limit = limit
        self.window_s = window_s
        self._hits: dict[Any, deque[float]] = {}
        self._lock = threading.Lock()
        self._calls = 0

    def hit(self, key: Any) -> tuple[bool, int, int]:
        """(allowed, remaining, retry_after_s)."""
        now = time.monotonic()
        cutoff = now - self.window_s
        with self._lock:
            self._calls += 1
            if self._calls % 1000 == 0:
                for k in [k for k, dq in self._hits.items() if not dq or dq[-1] <= cutoff]:
                    del self._hits[k]
            dq = self._hits.setdefault(key, deque())
            while dq and dq[0] <= cutoff:
                dq.popleft()
            if len(dq) >= self.limit:
                retry = max(1, math.ceil(dq[0] + self.window_s - now))
                return False, 0, retry
            dq.append(now)
            return True, self.limit - len(dq), 0


# --------------------------------------------------------------------------------------
# database
# --------------------------------------------------------------------------------------
class Tx:
    def __init__(self, cur: psycopg.Cursor, ctx: RequestContext | None):
        self.cur = cur
        self.ctx = ctx

    def _exec(self, sql: str, params: Any = ()) -> None:
        if self.ctx is not None:
            self.ctx.sql = sql
        self.cur.execute(sql, params)

    def values(self, sql: str, params: Any = ()) -> list[Any]:
        self._exec(sql, params)
        return [r[0] for r in self.cur.fetchall()]

    def value(self, sql: str, params: Any = ()) -> Any:
        self._exec(sql, params)
        row = self.cur.fetchone()
        return row[0] if row else None

    def row(self, sql: str, params: Any = ()) -> tuple | None:
        self._exec(sql, params)
        return self.cur.fetchone()


class Database:
    def __init__(self, conninfo: str):
        self._conninfo = conninfo
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()
        self._columns: dict[str, frozenset[str]] = {}
        self._ping_executor: ThreadPoolExecutor | None = None

    def _get_pool(self) -> ConnectionPool:
        with self._lock:
            if self._pool is None:
                self._pool = ConnectionPool(
                    self._conninfo,
                    min_size=1,
                    max_size=8,
                    open=False,
                    timeout=DB_ACQUIRE_TIMEOUT_S,
                    check=ConnectionPool.check_connection,
                    name="mm-gateway",
                    kwargs={"autocommit": True, "application_name": APPLICATION_NAME, "connect_timeout": 3},
                )
                self._pool.open(wait=False)
            return self._pool

    def open(self) -> None:
        self._get_pool()

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            executor, self._ping_executor = self._ping_executor, None
        if pool is not None:
            pool.close(timeout=2)
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    @contextmanager
    def tx(self, ctx: RequestContext | None, *, write: bool = False, acquire_timeout_s: float = DB_ACQUIRE_TIMEOUT_S) -> Iterator[Tx]:
        try:
            with self._get_pool().connection(timeout=acquire_timeout_s) as conn:
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute(
                        "SELECT set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true)"
                        + ("" if write else ", set_config('transaction_read_only', 'on', true)"),
                        (STATEMENT_TIMEOUT, LOCK_TIMEOUT),
                    )
                    yield Tx(cur, ctx)
        except PoolTimeout:
            raise ApiError(503, "INTERNAL_ERROR", "Database unavailable") from None
        except (pg_errors.UniqueViolation, pg_errors.ExclusionViolation):
            raise ApiError(409, "VALIDATION_ERROR", "A record with the same unique value already exists") from None
        except pg_errors.ForeignKeyViolation as e:
            if (e.diag.message_primary or "").startswith("insert or update"):
                raise ApiError(409, "VALIDATION_ERROR", "A referenced record does not exist") from None
            raise ApiError(409, "VALIDATION_ERROR", "The record is referred to by other records") from None
        except (pg_errors.CheckViolation, pg_errors.NotNullViolation):
            raise ApiError(400, "VALIDATION_ERROR", "A value violates a rule of the table") from None
        except (pg_errors.NumericValueOutOfRange, pg_errors.StringDataRightTruncation,
                pg_errors.InvalidTextRepresentation, pg_errors.InvalidDatetimeFormat, pg_errors.DatetimeFieldOverflow,
                pg_errors.UntranslatableCharacter, pg_errors.CharacterNotInRepertoire):
            raise ApiError(400, "VALIDATION_ERROR", "A value is out of range or malformed") from None
        except (pg_errors.QueryCanceled, pg_errors.LockNotAvailable):
            raise ApiError(503, "INTERNAL_ERROR", "Database timeout") from None
        except psycopg.OperationalError:
            raise ApiError(503, "INTERNAL_ERROR", "Database unavailable") from None

    def columns(self, table: str) -> frozenset[str]:
        cols = self._columns.get(table)
        if cols is None:
            with self.tx(None) as t:
                cols = frozenset(t.values(
                    "SELECT column_name::text FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND table_name = %s", (table,)))
            if cols:
                self._columns[table] = cols
        return cols

    # bounded probes for the health endpoints ----------------------------------------
    def _ping(self) -> bool:
        with self.tx(None, acquire_timeout_s=DB_PING_TIMEOUT_S) as t:
            return t.value("SELECT 1") == 1

    def _status(self) -> tuple[datetime | None, int]:
        with self.tx(None, acquire_timeout_s=DB_STATUS_TIMEOUT_S) as t:
            row = t.row("SELECT (SELECT max(fecha_inicio) FROM estadisticas_scraping),"
                        " (SELECT count(*) FROM productos WHERE activo)")
        assert row is not None
        return row[0], int(row[1])

    async def _bounded(self, fn, timeout_s: float):
        """Run a probe on its own small executor, so that a hung database cannot tie up the
        request threads, and give up after timeout_s."""
        with self._lock:
            if self._ping_executor is None:
                self._ping_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mm-gw-ping")
            executor = self._ping_executor
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(executor, fn), timeout_s)

    async def ping(self) -> bool:
        try:
            return bool(await self._bounded(self._ping, DB_PING_TIMEOUT_S + 0.5))
        except Exception:
            return False

    async def status(self) -> tuple[datetime | None, int] | None:
        try:
            return await self._bounded(self._status, DB_STATUS_TIMEOUT_S + 0.5)
        except Exception:
            return None


# --------------------------------------------------------------------------------------
# request bodies
# --------------------------------------------------------------------------------------
def _no_nul(v: str) -> str:
    if "\x00" in v:
        raise ValueError("must not contain NUL characters")
    return v


def _Text(max_length: int, min_length: int = 0):
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length), AfterValidator(_no_nul)]


UUIDStr = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]
# numeric(12,2) and numeric(5,2) columns: what rounds to a storable value
Money = Annotated[float, Field(ge=0, le=9_999_999_999.99, allow_inf_nan=False)]
Margin = Annotated[float, Field(ge=0, le=999.99, allow_inf_nan=False)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CategoriaCreate(_Body):
    codigo: _Text(50, 1)
    nombre: _Text(255, 1)
    descripcion: _Text(2000) | None = None
    parent_id: UUIDStr | None = None
    nivel: Annotated[int, Field(ge=1, le=100)] | None = None
    margen_minimo: Margin | None = None
    margen_maximo: Margin | None = None
    activo: bool = True


class CategoriaUpdate(_Body):
    codigo: _Text(50, 1) = None  # type: ignore[assignment]  (absent: unchanged; null: refused)
    nombre: _Text(255, 1) = None  # type: ignore[assignment]
    descripcion: _Text(2000) | None = None
    parent_id: UUIDStr | None = None
    nivel: Annotated[int, Field(ge=1, le=100)] = None  # type: ignore[assignment]
    margen_minimo: Margin | None = None
    margen_maximo: Margin | None = None
    activo: bool = None  # type: ignore[assignment]


class ProductoCreate(_Body):
    nombre: _Text(255, 1)
    descripcion: _Text(2000) | None = None
    codigo_barras: _Text(64, 1) | None = None
    sku: _Text(64, 1) | None = None
    categoria_id: UUIDStr | None = None
    marca: _Text(255) | None = None
    contenido_neto: _Text(100) | None = None
    dimensiones: dict[str, Any] | None = None
    activo: bool = True
    precio_sugerido: Money | None = None
    observaciones: _Text(2000) | None = None


class ProductoUpdate(_Body):
    nombre: _Text(255, 1) = None  # type: ignore[assignment]
    descripcion: _Text(2000) | None = None
    codigo_barras: _Text(64, 1) | None = None
    sku: _Text(64, 1) | None = None
    categoria_id: UUIDStr | None = None
    marca: _Text(255) | None = None
    contenido_neto: _Text(100) | None = None
    dimensiones: dict[str, Any] | None = None
    activo: bool = None  # type: ignore[assignment]
    precio_sugerido: Money | None = None
    observaciones: _Text(2000) | None = None


class PrecioCreate(_Body):
    producto_id: UUIDStr
    proveedor_id: UUIDStr
    precio_compra: Annotated[float, Field(ge=0.01, le=9_999_999_999.99, allow_inf_nan=False)]
    moneda: Annotated[str, StringConstraints(pattern=r"^(ARS|USD)$")] = "ARS"


class MovimientoCreate(_Body):
    producto_id: UUIDStr
    tipo_movimiento: Annotated[str, StringConstraints(pattern=r"^(entrada|salida|ajuste)$")]
    cantidad: Annotated[int, Field(ge=0, le=1_000_000_000)]
    deposito: _Text(50, 1) = "principal"
    ubicacion_fisica: _Text(100) | None = None
    observaciones: _Text(2000) | None = None


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors()[:5]:
        loc = ".".join(str(x) for x in e.get("loc", ())) or "body"
        parts.append(f"{loc}: {e.get('msg', 'invalid')}")
    return "; ".join(parts) or "Invalid request body"


async def _body(request: Request, model: type[BaseModel]) -> BaseModel:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(400, "VALIDATION_ERROR", "Request body too large")
    if not raw.strip():
        raise ApiError(400, "VALIDATION_ERROR", "A JSON body is required")
    try:
        return model.model_validate_json(raw)
    except ValidationError as e:
        raise ApiError(400, "VALIDATION_ERROR", _validation_message(e)) from None


# --------------------------------------------------------------------------------------
# query parameters (strict: what the contract documents, nothing looser)
# --------------------------------------------------------------------------------------
def _param(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise ApiError(400, "VALIDATION_ERROR", f"{name}: must be given once")
    return values[0]


def _q_uuid(request: Request, name: str, *, required: bool = False) -> str | None:
    v = _param(request, name)
    if v is None:
        if required:
            raise ApiError(400, "VALIDATION_ERROR", f"{name}: is required")
        return None
    if not UUID_RE.match(v):
        raise ApiError(400, "VALIDATION_ERROR", f"{name}: must be a uuid")
    return v.lower()


def _q_bool(request: Request, name: str) -> bool | None:
    v = _param(request, name)
    if v is None:
        return None
    if v == "true":
        return True
    if v == "false":
        return False
    raise ApiError(400, "VALIDATION_ERROR", f"{name}: must be true or false")


def _q_int(request: Request, name: str, default: int, lo: int, hi: int | None) -> int:
    v = _param(request, name)
    if v is None:
        return default
    if not INT_RE.match(v) or int(v) < lo or (hi is not None and int(v) > hi):
        rng = f"between {lo} and {hi}" if hi is not None else f"an integer >= {lo}"
        raise ApiError(400, "VALIDATION_ERROR", f"{name}: must be {rng}")
    return int(v)


def _q_str(request: Request, name: str, *, max_length: int, default: str | None = None,
           min_length: int = 0) -> str | None:
    v = _param(request, name)
    if v is None:
        return default
    v = v.replace("\x00", "")
    if len(v) > max_length or len(v) < min_length:
        raise ApiError(400, "VALIDATION_ERROR", f"{name}: must be {min_length} to {max_length} characters")
    return v


def _q_enum(request: Request, name: str, choices: tuple[str, ...]) -> str | None:
    v = _param(request, name)
    if v is not None and v not in choices:
        raise ApiError(400, "VALIDATION_ERROR", f"{name}: must be one of {', '.join(choices)}")
    return v


def _path_uuid(value: str) -> str:
    if not UUID_RE.match(value):
        raise ApiError(400, "VALIDATION_ERROR", "id: must be a uuid")
    return value.lower()


def _page(request: Request) -> tuple[int, int]:
    return _q_int(request, "limite", 50, 1, 100), _q_int(request, "offset", 0, 0, 1_000_000_000)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# --------------------------------------------------------------------------------------
# the gateway
# --------------------------------------------------------------------------------------
class Gateway:
    def __init__(self, cfg: GatewayConfig):
        unknown = sorted(set(cfg.faults) - API_FAULTS)
        if unknown:
            raise ValueError(f"unknown gateway fault(s): {', '.join(unknown)} (known: {', '.join(sorted(API_FAULTS))})")
        if cfg.public_rate_per_min < 1 or cfg.private_rate_per_min < 1:
            raise ValueError("rate limits must be at least 1 request per minute")
        if "*" in cfg.allowed_origins:
            raise ValueError("allowed_origins must name origins, not '*'")
        self.cfg = cfg
        self.faults = frozenset(cfg.faults)
        self.db = Database(cfg.conninfo)
        self.public_limiter = RateLimiter(cfg.public_rate_per_min)
        self.private_limiter = RateLimiter(cfg.private_rate_per_min)
        self.started_at = time.monotonic()
        self._allowed_origins = frozenset(cfg.allowed_origins)
        self._secrets = [s for s in (cfg.jwt_secret, cfg.api_secret, cfg.conninfo, _conninfo_password(cfg.conninfo)) if s]

    def has(self, fault: str) -> bool:
        return fault in self.faults

    # -- credentials -------------------------------------------------------------------
    def identify(self, headers: Headers, ctx: RequestContext) -> Identity:
        ident = Identity()
        secret = headers.get("x-api-secret")
        if secret:
            ctx.secrets.append(secret)
            ident.api_secret_ok = hmac.compare_digest(secret.encode(), self.cfg.api_secret.encode())
        if headers.get("apikey"):
            ctx.secrets.append(headers["apikey"])
        auth = headers.get("authorization")
        if not auth:
            ident.error = "missing"
            return ident
        scheme, _, token = auth.strip().partition(" ")
        token = token.strip()
        if token:
            ctx.secrets.append(token)
        if scheme.lower() != "bearer" or not token:
            ident.error = "missing" if scheme.lower() != "bearer" else "invalid"
            return ident
        claims = self._decode(token)
        if claims is None:
            ident.error = "invalid"
            return ident
        role = claims.get("role")
        if not isinstance(role, str) or role not in ROLES:
            ident.error = "invalid"
            return ident
        ident.role = role
        sub = claims.get("sub")
        ident.subject = sub if isinstance(sub, str) and sub else None
        return ident

    def _decode(self, token: str) -> dict | None:
        try:
            if self.has("api_unsigned_tokens"):
                claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": True,
                                                    "verify_aud": False, "verify_iat": False})
            else:
                claims = jwt.decode(token, self.cfg.jwt_secret, algorithms=["HS256"],
                                    options={"require": ["exp", "role"], "verify_aud": False})
        except Exception:  # any malformed, forged or expired token
            return None
        return claims if isinstance(claims, dict) else None

    def authorize(self, fn: str, rest: str, method: str, ident: Identity) -> None:
        """Platform JWT verification, then the function's own check. Raises ApiError."""
        if self.has("api_auth_off") or is_public(fn, rest, method):
            return
        if fn == SCRAPER_FUNCTION and ident.api_secret_ok:
            return
        if ident.error == "missing":
            raise ApiError(401, "UNAUTHORIZED", "Missing authorization header",
                           {"WWW-Authenticate": 'Bearer realm="functions"'})
        if ident.error is not None or ident.role is None:
            raise ApiError(401, "UNAUTHORIZED", "Invalid JWT",
                           {"WWW-Authenticate": 'Bearer realm="functions", error="invalid_token"'})
        if fn == API_FUNCTION:
            if ident.role not in USER_ROLES:
                raise ApiError(401, "UNAUTHORIZED", "Authentication required",
                               {"WWW-Authenticate": 'Bearer realm="functions", error="invalid_token"'})
        elif fn in SERVICE_FUNCTIONS:
            allowed = {"service_role", "authenticated"} if self.has("api_role_mix") else {"service_role"}
            if ident.role not in allowed:
                raise ApiError(403, "FORBIDDEN", "Service role required")

    # -- CORS ---------------------------------------------------------------------------
    def cors_headers(self, origin: str | None) -> dict[str, str]:
        if origin is None:
            return {}
        if self.has("api_cors_reflect"):
            return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true",
                    "Access-Control-Expose-Headers": CORS_EXPOSE_HEADERS, "Vary": "Origin"}
        if origin in self._allowed_origins:
            return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": CORS_EXPOSE_HEADERS,
                    "Vary": "Origin"}
        return {"Vary": "Origin"}

    def preflight(self, origin: str, ctx: RequestContext) -> Response:
        headers = self.cors_headers(origin)
        if "Access-Control-Allow-Origin" not in headers:
            return self.error_response(ApiError(403, "FORBIDDEN", "Origin not allowed"), ctx, extra=headers)
        headers.update({"Access-Control-Allow-Methods": CORS_ALLOW_METHODS,
                        "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
                        "Access-Control-Max-Age": "600"})
        headers.pop("Access-Control-Expose-Headers", None)
        return Response(status_code=204, headers=headers)

    # -- errors -------------------------------------------------------------------------
    def scrub(self, text: str, ctx: RequestContext | None) -> str:
        for s in [*self._secrets, *((ctx.secrets if ctx else []))]:
            if s and len(s) >= 4:
                text = text.replace(s, "[redacted]")
        return text

    def error_response(self, err: ApiError, ctx: RequestContext | None, *, exc: BaseException | None = None,
                       extra: dict[str, str] | None = None) -> JSONResponse:
        body: dict[str, Any] = {"success": False, "error": {"code": err.code, "message": err.message}}
        if self.has("api_leaky_errors"):
            exc = exc or err
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            if exc.__traceback__ is None:
                tb += "".join(traceback.format_stack(limit=12))
            sql = (ctx.sql if ctx and ctx.sql else None) or "SELECT to_jsonb(p) FROM public.productos p WHERE p.id = %s"
            body["error"]["message"] = self.scrub(f"{err.message}: {type(exc).__name__}: {exc}", ctx)
            body["error"]["details"] = {"traceback": self.scrub(tb, ctx), "sql": self.scrub(sql, ctx),
                                        "file": __file__, "python": sys.version.split()[0]}
        headers = {**err.headers, **(extra or {})}
        return JSONResponse(body, status_code=err.status, headers=headers)


def is_public(fn: str, rest: str, method: str) -> bool:
    if method not in ("GET", "HEAD"):
        return False
    return (fn == API_FUNCTION and rest == "") or (fn == PROVEEDOR_FUNCTION and rest == "/status")


def is_private_operation(fn: str, method: str) -> bool:
    return fn in SERVICE_FUNCTIONS or (fn == API_FUNCTION and method not in ("GET", "HEAD", "OPTIONS"))


def _split(path: str) -> tuple[str, str] | None:
    if not path.startswith(PREFIX + "/"):
        return None
    fn, slash, rest = path[len(PREFIX) + 1:].partition("/")
    return fn, (slash + rest)


def _conninfo_password(conninfo: str) -> str | None:
    try:
        return psycopg.conninfo.conninfo_to_dict(conninfo).get("password")  # type: ignore[return-value]
    except Exception:
        return None


class GatewayMiddleware:
    """CORS, faults, rate limits, platform JWT checks and the error shape, outside the routes."""

    def __init__(self, app, gw: Gateway):
        self.app = app
        self.gw = gw

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        gw = self.gw
        headers = Headers(scope=scope)
        method = scope["method"]
        path = scope["path"]
        origin = headers.get("origin")
        ctx = RequestContext()
        scope["mm"] = ctx
        started = time.perf_counter()
        state = {"started": False, "status": 0}
        cors = gw.cors_headers(origin)

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                state["started"] = True
                state["status"] = message["status"]
                h = MutableHeaders(scope=message)
                for k, v in {**cors, **ctx.headers}.items():
                    if k not in h:
                        h[k] = v
            await send(message)

        try:
            if method == "OPTIONS" and origin is not None and "access-control-request-method" in headers:
                resp = gw.preflight(origin, ctx)
                await resp(scope, receive, send)
                state["status"] = resp.status_code
                return
            parts = _split(path)
            if parts is not None:
                if gw.has("api_slow"):
                    await asyncio.sleep(gw.cfg.slow_ms / 1000)
                fn, rest = parts
                if fn not in FUNCTIONS:
                    raise ApiError(404, "NOT_FOUND", "Function not found")
                ident = gw.identify(headers, ctx)
                host = scope.get("client")[0] if scope.get("client") else "unknown"
                ok, remaining, retry = gw.public_limiter.hit((host, ident.bucket))
                ctx.headers["X-RateLimit-Limit"] = str(gw.public_limiter.limit)
                ctx.headers["X-RateLimit-Remaining"] = str(remaining)
                if not ok:
                    raise ApiError(429, "RATE_LIMITED", "Too many requests", {"Retry-After": str(retry)})
                gw.authorize(fn, rest, method, ident)
                if is_private_operation(fn, method):
                    ok, remaining, retry = gw.private_limiter.hit((host, ident.bucket))
                    if not ok:
                        raise ApiError(429, "RATE_LIMITED", "Too many requests for private operations",
                                       {"Retry-After": str(retry)})
            await self.app(scope, receive, send_wrapper)
        except ApiError as err:
            if state["started"]:
                return
            await gw.error_response(err, ctx)(scope, receive, send_wrapper)
        except Exception as exc:  # never leak internals; log the class only
            log.error("unhandled %s on %s %s", type(exc).__name__, method, path)
            if state["started"]:
                return
            err = ApiError(500, "INTERNAL_ERROR", "Internal server error")
            await gw.error_response(err, ctx, exc=exc)(scope, receive, send_wrapper)
        finally:
            log.info("%s %s %s %.1fms", method, path, state["status"], (time.perf_counter() - started) * 1000)


# --------------------------------------------------------------------------------------
# routes
# --------------------------------------------------------------------------------------
def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ctx(request: Request) -> RequestContext:
    return request.scope.setdefault("mm", RequestContext())


METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(app: fastapi.FastAPI, scope) -> str:
    """Every method some route serves on this path (Starlette only names the first route's)."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match != Match.NONE and getattr(route, "methods", None):
            methods |= set(route.methods)
    return ", ".join(m for m in METHOD_ORDER if m in methods)


def _list_response(data: list, total: int, limite: int, offset: int) -> dict:
    return {"success": True, "data": data,
            "pagination": {"total": total, "limite": limite, "offset": offset,
                           "has_next": offset + len(data) < total, "has_prev": offset > 0}}


def _select_page(t: Tx, *, select: str, from_: str, where: list[str], params: list, order: str,
                 limite: int, offset: int) -> tuple[list, int]:
    where_sql = (" WHERE " + " AND ".join(where)) if where else ""
    total = t.value(f"SELECT count(*) FROM {from_}{where_sql}", params)
    data = t.values(f"SELECT {select} FROM {from_}{where_sql} ORDER BY {order} LIMIT %s OFFSET %s",
                    [*params, limite, offset])
    return data, int(total or 0)


def _set_clause(fields: dict[str, Any], jsonb_fields: tuple[str, ...] = ()) -> tuple[str, list]:
    cols, params = [], []
    for k, v in fields.items():
        cols.append(f"{k} = %s")
        params.append(Jsonb(v) if k in jsonb_fields and v is not None else v)
    return ", ".join(cols), params


def _insert_returning(table: str, cols: list[str]) -> str:
    """INSERT of these columns returning the row as JSON (table and columns are our own
    constants and model field names, never request data)."""
    return (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})"
            f" RETURNING to_jsonb({table})")


def create_app(cfg: GatewayConfig) -> fastapi.FastAPI:
    gw = Gateway(cfg)

    @asynccontextmanager
    async def lifespan(app):
        gw.db.open()
        try:
            yield
        finally:
            await run_in_threadpool(gw.db.close)

    app = fastapi.FastAPI(title="Mini Market sandbox gateway", version=VERSION, docs_url=None, redoc_url=None,
                          openapi_url=None, redirect_slashes=False, lifespan=lifespan)
    app.add_middleware(GatewayMiddleware, gw=gw)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 405:
            err = ApiError(405, "VALIDATION_ERROR", "Method not allowed", {"Allow": _allowed_methods(app, request.scope)})
        elif exc.status_code == 404:
            err = ApiError(404, "NOT_FOUND", "Not found")
        else:
            err = ApiError(exc.status_code, "VALIDATION_ERROR" if exc.status_code < 500 else "INTERNAL_ERROR",
                           "Request refused" if exc.status_code < 500 else "Internal server error")
        return gw.error_response(err, _ctx(request), exc=exc)

    @app.exception_handler(fastapi.exceptions.RequestValidationError)
    async def _validation_error(request: Request, exc):
        return gw.error_response(ApiError(400, "VALIDATION_ERROR", "Invalid request"), _ctx(request), exc=exc)

    A = f"{PREFIX}/{API_FUNCTION}"
    GET = ["GET", "HEAD"]

    # -- health --------------------------------------------------------------------------
    @app.api_route(A, methods=GET)
    async def health():
        db_ok = await gw.db.ping()
        down = gw.has("api_5xx")
        body = {
            "status": "down" if down else ("operational" if db_ok else "degraded"),
            "version": VERSION,
            "timestamp": _now_iso(),
            "services": {"database": "healthy" if db_ok else "unhealthy", "scraper": "ready"},
        }
        return JSONResponse(body, status_code=503 if down else 200, headers={"Cache-Control": "no-store"})

    @app.api_route(f"{PREFIX}/{PROVEEDOR_FUNCTION}/status", methods=GET)
    async def proveedor_status():
        st = await gw.db.status()
        uptime = int(time.monotonic() - gw.started_at)
        if st is None:
            body = {"status": "down", "last_scraping": None, "products_count": None, "uptime": uptime}
            return JSONResponse(body, status_code=503, headers={"Cache-Control": "no-store"})
        last, count = st
        fresh = last is not None and (datetime.now(timezone.utc) - last).total_seconds() <= SCRAPING_STALE_AFTER_S
        body = {"status": "operational" if fresh else "degraded",
                "last_scraping": last.isoformat() if last is not None else None,
                "products_count": count, "uptime": uptime}
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    # -- service-role functions: harmless status probes --------------------------------
    for name in SERVICE_FUNCTIONS:
        def _make(fn_name: str):
            async def service_status():
                return {"function": fn_name, "status": "ready"}
            service_status.__name__ = f"status_{fn_name.replace('-', '_')}"
            return service_status
        app.api_route(f"{PREFIX}/{name}/status", methods=GET)(_make(name))

    # -- categorias ----------------------------------------------------------------------
    @app.api_route(f"{A}/categorias", methods=GET)
    def categorias_list(request: Request):
        limite, offset = _page(request)
        activo = _q_bool(request, "activo")
        parent_id = _q_uuid(request, "parent_id")
        where, params = [], []
        if activo is not None:
            where.append("c.activo = %s")
            params.append(activo)
        if parent_id is not None:
            where.append("c.parent_id = %s")
            params.append(parent_id)
        with gw.db.tx(_ctx(request)) as t:
            data, total = _select_page(t, select="to_jsonb(c)", from_="categorias c", where=where, params=params,
                                       order="c.codigo, c.id", limite=limite, offset=offset)
        return _list_response(data, total, limite, offset)

    @app.api_route(f"{A}/categorias/{{id}}", methods=GET)
    def categorias_get(request: Request, id: str):
        cid = _path_uuid(id)
        with gw.db.tx(_ctx(request)) as t:
            row = t.value("SELECT to_jsonb(c) FROM categorias c WHERE c.id = %s", (cid,))
        if row is None:
            raise ApiError(404, "NOT_FOUND", "Categoria not found")
        return {"success": True, "data": row}

    def _check_parent(t: Tx, cid: str | None, parent_id: str | None) -> int | None:
        """The parent's nivel; refuses a missing parent or a cycle."""
        if parent_id is None:
            return None
        parent_nivel = t.row("SELECT nivel FROM categorias WHERE id = %s", (parent_id,))
        if parent_nivel is None:
            raise ApiError(409, "VALIDATION_ERROR", "parent_id: no such categoria")
        if cid is not None:
            cycle = t.value(
                "WITH RECURSIVE up(id, parent_id, depth) AS ("
                " SELECT id, parent_id, 1 FROM categorias WHERE id = %s"
                " UNION ALL SELECT c.id, c.parent_id, up.depth + 1 FROM categorias c JOIN up ON c.id = up.parent_id"
                " WHERE up.depth < 1000)"
                " SELECT EXISTS (SELECT 1 FROM up WHERE id = %s)", (parent_id, cid))
            if cycle:
                raise ApiError(409, "VALIDATION_ERROR", "parent_id: would make a cycle in the category tree")
        return parent_nivel[0]

    @app.api_route(f"{A}/categorias", methods=["POST"])
    async def categorias_create(request: Request):
        body: CategoriaCreate = await _body(request, CategoriaCreate)  # type: ignore[assignment]

        def work():
            fields = body.model_dump()
            with gw.db.tx(_ctx(request), write=True) as t:
                parent_nivel = _check_parent(t, None, body.parent_id)
                if fields["nivel"] is None:
                    fields["nivel"] = (parent_nivel or 0) + 1
                cols = list(fields)
                return t.value(_insert_returning("categorias", cols), [fields[c] for c in cols])

        row = await run_in_threadpool(work)
        return JSONResponse({"success": True, "data": row}, status_code=201)

    @app.api_route(f"{A}/categorias/{{id}}", methods=["PUT"])
    async def categorias_update(request: Request, id: str):
        cid = _path_uuid(id)
        body: CategoriaUpdate = await _body(request, CategoriaUpdate)  # type: ignore[assignment]
        fields = {k: getattr(body, k) for k in body.model_fields_set}
        if not fields:
            raise ApiError(400, "VALIDATION_ERROR", "Nothing to update")

        def work():
            with gw.db.tx(_ctx(request), write=True) as t:
                if t.value("SELECT id FROM categorias WHERE id = %s FOR UPDATE", (cid,)) is None:
                    raise ApiError(404, "NOT_FOUND", "Categoria not found")
                if "parent_id" in fields:
                    if fields["parent_id"] is not None and fields["parent_id"].lower() == cid:
                        raise ApiError(400, "VALIDATION_ERROR", "parent_id: a categoria cannot be its own parent")
                    _check_parent(t, cid, fields["parent_id"])
                sets, params = _set_clause(fields)
                if "updated_at" in gw.db.columns("categorias"):
                    sets += ", updated_at = now()"
                return t.value(f"UPDATE categorias SET {sets} WHERE id = %s RETURNING to_jsonb(categorias)",
                               [*params, cid])

        row = await run_in_threadpool(work)
        return {"success": True, "data": row}

    @app.api_route(f"{A}/categorias/{{id}}", methods=["DELETE"])
    def categorias_delete(request: Request, id: str):
        cid = _path_uuid(id)
        with gw.db.tx(_ctx(request), write=True) as t:
            if t.value("SELECT id FROM categorias WHERE id = %s FOR UPDATE", (cid,)) is None:
                raise ApiError(404, "NOT_FOUND", "Categoria not found")
            if t.value("SELECT EXISTS (SELECT 1 FROM productos WHERE categoria_id = %s)"
                       " OR EXISTS (SELECT 1 FROM categorias WHERE parent_id = %s)", (cid, cid)):
                raise ApiError(409, "VALIDATION_ERROR", "Categoria is in use by productos or subcategorias")
            t.value("DELETE FROM categorias WHERE id = %s RETURNING id", (cid,))
        return {"success": True, "data": {"id": cid, "deleted": True}}

    # -- productos -----------------------------------------------------------------------
    @app.api_route(f"{A}/productos", methods=GET)
    def productos_list(request: Request):
        limite, offset = _page(request)
        categoria_id = _q_uuid(request, "categoria_id")
        activo = _q_bool(request, "activo")
        search = _q_str(request, "search", max_length=100)
        stock_bajo = _q_bool(request, "stock_bajo")
        where, params = [], []
        if categoria_id is not None:
            where.append("p.categoria_id = %s")
            params.append(categoria_id)
        if activo is not None:
            where.append("p.activo = %s")
            params.append(activo)
        if search:
            where.append("(p.nombre ILIKE %s OR p.sku ILIKE %s OR p.codigo_barras ILIKE %s OR p.marca ILIKE %s)")
            params.extend([_like(search)] * 4)
        if stock_bajo is not None:
            where.append(("" if stock_bajo else "NOT ") + "EXISTS (SELECT 1 FROM stock_deposito s"
                         " WHERE s.producto_id = p.id AND s.stock_actual <= s.stock_minimo)")
        with gw.db.tx(_ctx(request)) as t:
            data, total = _select_page(t, select="to_jsonb(p)", from_="productos p", where=where, params=params,
                                       order="p.nombre, p.id", limite=limite, offset=offset)
        body = _list_response(data, total, limite, offset)
        if gw.has("api_contract_break"):
            for item in data:
                item.pop("nombre", None)
                item["activo"] = "si"
                item["precio_sugerido"] = str(item.get("precio_sugerido"))
            body["pagination"]["total"] = str(total)
        return body

    @app.api_route(f"{A}/productos/{{id}}", methods=GET)
    def productos_get(request: Request, id: str):
        pid = _path_uuid(id)
        with gw.db.tx(_ctx(request)) as t:
            row = t.value("SELECT to_jsonb(p) FROM productos p WHERE p.id = %s", (pid,))
        if row is None:
            raise ApiError(404, "NOT_FOUND", "Producto not found")
        return {"success": True, "data": row}

    @app.api_route(f"{A}/productos", methods=["POST"])
    async def productos_create(request: Request):
        body: ProductoCreate = await _body(request, ProductoCreate)  # type: ignore[assignment]

        def work():
            fields = body.model_dump()
            cols = list(fields)
            params = [Jsonb(fields[c]) if c == "dimensiones" and fields[c] is not None else fields[c] for c in cols]
            with gw.db.tx(_ctx(request), write=True) as t:
                return t.value(_insert_returning("productos", cols), params)

        row = await run_in_threadpool(work)
        return JSONResponse({"success": True, "data": row}, status_code=201)

    @app.api_route(f"{A}/productos/{{id}}", methods=["PUT"])
    async def productos_update(request: Request, id: str):
        pid = _path_uuid(id)
        body: ProductoUpdate = await _body(request, ProductoUpdate)  # type: ignore[assignment]
        fields = {k: getattr(body, k) for k in body.model_fields_set}
        if not fields:
            raise ApiError(400, "VALIDATION_ERROR", "Nothing to update")

        def work():
            sets, params = _set_clause(fields, ("dimensiones",))
            if "updated_at" in gw.db.columns("productos"):
                sets += ", updated_at = now()"
            with gw.db.tx(_ctx(request), write=True) as t:
                row = t.value(f"UPDATE productos SET {sets} WHERE id = %s RETURNING to_jsonb(productos)",
                              [*params, pid])
            if row is None:
                raise ApiError(404, "NOT_FOUND", "Producto not found")
            return row

        row = await run_in_threadpool(work)
        return {"success": True, "data": row}

    # -- proveedores ---------------------------------------------------------------------
    @app.api_route(f"{A}/proveedores", methods=GET)
    def proveedores_list(request: Request):
        limite, offset = _page(request)
        activo = _q_bool(request, "activo")
        where, params = [], []
        if activo is not None:
            where.append("pr.activo = %s")
            params.append(activo)
        with gw.db.tx(_ctx(request)) as t:
            # configuracion may hold the supplier's credentials: never served
            data, total = _select_page(t, select="to_jsonb(pr) - 'configuracion'", from_="proveedores pr",
                                       where=where, params=params, order="pr.nombre, pr.id",
                                       limite=limite, offset=offset)
        return _list_response(data, total, limite, offset)

    # -- precios -------------------------------------------------------------------------
    @app.api_route(f"{A}/precios", methods=GET)
    def precios_list(request: Request):
        producto_id = _q_uuid(request, "producto_id", required=True)
        proveedor_id = _q_uuid(request, "proveedor_id")
        vigente = _q_bool(request, "vigente")
        limite, offset = _page(request)
        where, params = ["pp.producto_id = %s"], [producto_id]
        if proveedor_id is not None:
            where.append("pp.proveedor_id = %s")
            params.append(proveedor_id)
        if vigente is not None:
            where.append("pp.es_precio_vigente = %s")
            params.append(vigente)
        with gw.db.tx(_ctx(request)) as t:
            data, total = _select_page(
                t, select="to_jsonb(pp) || jsonb_build_object('proveedor_nombre', pr.nombre)",
                from_="precios_proveedor pp LEFT JOIN proveedores pr ON pr.id = pp.proveedor_id",
                where=where, params=params, order="pp.fecha_vigencia_desde DESC NULLS LAST, pp.id",
                limite=limite, offset=offset)
        return _list_response(data, total, limite, offset)

    @app.api_route(f"{A}/precios", methods=["POST"])
    async def precios_create(request: Request):
        body: PrecioCreate = await _body(request, PrecioCreate)  # type: ignore[assignment]

        def work():
            with gw.db.tx(_ctx(request), write=True) as t:
                if t.value("SELECT id FROM productos WHERE id = %s", (body.producto_id,)) is None:
                    raise ApiError(409, "VALIDATION_ERROR", "producto_id: no such producto")
                if t.value("SELECT id FROM proveedores WHERE id = %s", (body.proveedor_id,)) is None:
                    raise ApiError(409, "VALIDATION_ERROR", "proveedor_id: no such proveedor")
                old = t.row("SELECT id, precio_compra FROM precios_proveedor WHERE producto_id = %s"
                            " AND proveedor_id = %s AND es_precio_vigente ORDER BY fecha_vigencia_desde DESC NULLS LAST"
                            " LIMIT 1 FOR UPDATE", (body.producto_id, body.proveedor_id))
                t.value("UPDATE precios_proveedor SET es_precio_vigente = false, fecha_vigencia_hasta = now()"
                        " WHERE producto_id = %s AND proveedor_id = %s AND es_precio_vigente RETURNING 1",
                        (body.producto_id, body.proveedor_id))
                return t.value(
                    "INSERT INTO precios_proveedor (producto_id, proveedor_id, precio_compra, precio_anterior,"
                    " moneda, es_precio_vigente, fecha_vigencia_desde) VALUES (%s, %s, %s, %s, %s, true, now())"
                    " RETURNING to_jsonb(precios_proveedor)",
                    (body.producto_id, body.proveedor_id, body.precio_compra, old[1] if old else None, body.moneda))

        row = await run_in_threadpool(work)
        return JSONResponse({"success": True, "data": row}, status_code=201)

    # -- stock ---------------------------------------------------------------------------
    @app.api_route(f"{A}/stock", methods=GET)
    def stock_list(request: Request):
        deposito = _q_str(request, "deposito", max_length=50, min_length=1, default="principal")
        stock_bajo = _q_bool(request, "stock_bajo")
        categoria_id = _q_uuid(request, "categoria_id")
        limite, offset = _page(request)
        where, params = ["s.deposito = %s"], [deposito]
        if stock_bajo is not None:
            where.append("s.stock_actual <= s.stock_minimo" if stock_bajo else "s.stock_actual > s.stock_minimo")
        if categoria_id is not None:
            where.append("p.categoria_id = %s")
            params.append(categoria_id)
        with gw.db.tx(_ctx(request)) as t:
            data, total = _select_page(
                t, select="to_jsonb(s) || jsonb_build_object('producto_nombre', p.nombre, 'sku', p.sku,"
                          " 'categoria_id', p.categoria_id, 'stock_bajo', s.stock_actual <= s.stock_minimo)",
                from_="stock_deposito s JOIN productos p ON p.id = s.producto_id",
                where=where, params=params, order="p.nombre, s.id", limite=limite, offset=offset)
        return _list_response(data, total, limite, offset)

    @app.api_route(f"{A}/stock", methods=["POST"])
    async def stock_move(request: Request):
        body: MovimientoCreate = await _body(request, MovimientoCreate)  # type: ignore[assignment]
        if body.tipo_movimiento in ("entrada", "salida") and body.cantidad < 1:
            raise ApiError(400, "VALIDATION_ERROR", "cantidad: must be at least 1 for entrada and salida")

        def work():
            stock_cols = gw.db.columns("stock_deposito")
            mov_cols = gw.db.columns("movimientos_deposito")
            with gw.db.tx(_ctx(request), write=True) as t:
                if t.value("SELECT id FROM productos WHERE id = %s", (body.producto_id,)) is None:
                    raise ApiError(409, "VALIDATION_ERROR", "producto_id: no such producto")
                cur = t.row("SELECT id, stock_actual FROM stock_deposito WHERE producto_id = %s AND deposito = %s"
                            " FOR UPDATE", (body.producto_id, body.deposito))
                if cur is None:
                    cur = t.row("INSERT INTO stock_deposito (producto_id, deposito, stock_actual) VALUES (%s, %s, 0)"
                                " RETURNING id, stock_actual", (body.producto_id, body.deposito))
                stock_id, actual = cur
                if body.tipo_movimiento == "entrada":
                    new = actual + body.cantidad
                elif body.tipo_movimiento == "salida":
                    if body.cantidad > actual:
                        raise ApiError(409, "VALIDATION_ERROR", "cantidad: more than the stock on hand")
                    new = actual - body.cantidad
                else:
                    new = body.cantidad
                sets = "stock_actual = %s" + (", ultima_actualizacion = now()" if "ultima_actualizacion" in stock_cols else "")
                if "ubicacion_fisica" in stock_cols and body.ubicacion_fisica is not None:
                    sets += ", ubicacion_fisica = %s"
                    sparams = [new, body.ubicacion_fisica, stock_id]
                else:
                    sparams = [new, stock_id]
                stock = t.value(f"UPDATE stock_deposito SET {sets} WHERE id = %s RETURNING to_jsonb(stock_deposito)",
                                sparams)
                mov = {"producto_id": body.producto_id, "tipo_movimiento": body.tipo_movimiento,
                       "cantidad": body.cantidad, "observaciones": body.observaciones,
                       "ubicacion_fisica": body.ubicacion_fisica}
                if "deposito" in mov_cols:
                    mov["deposito"] = body.deposito
                mov = {k: v for k, v in mov.items() if k in mov_cols}
                cols = list(mov)
                movimiento = t.value(_insert_returning("movimientos_deposito", cols), [mov[c] for c in cols])
                return {"stock": stock, "movimiento": movimiento}

        data = await run_in_threadpool(work)
        return JSONResponse({"success": True, "data": data}, status_code=201)

    # -- deposito (movements) -------------------------------------------------------------
    @app.api_route(f"{A}/deposito", methods=GET)
    def deposito_list(request: Request):
        producto_id = _q_uuid(request, "producto_id")
        tipo = _q_enum(request, "tipo_movimiento", TIPOS_MOVIMIENTO)
        limite, offset = _page(request)
        where, params = [], []
        if producto_id is not None:
            where.append("m.producto_id = %s")
            params.append(producto_id)
        if tipo is not None:
            where.append("m.tipo_movimiento = %s")
            params.append(tipo)
        with gw.db.tx(_ctx(request)) as t:
            data, total = _select_page(
                t, select="to_jsonb(m) || jsonb_build_object('producto_nombre', p.nombre)",
                from_="movimientos_deposito m LEFT JOIN productos p ON p.id = m.producto_id",
                where=where, params=params, order="m.created_at DESC, m.id", limite=limite, offset=offset)
        return _list_response(data, total, limite, offset)

    return app


# --------------------------------------------------------------------------------------
# serving
# --------------------------------------------------------------------------------------
class GatewayServer:
    """uvicorn in a daemon thread on 127.0.0.1:<port> (0: a free port)."""

    def __init__(self, cfg: GatewayConfig, port: int = 0):
        self.cfg = cfg
        self.port = port
        self.app = create_app(cfg)  # unknown faults raise here
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self.url: str | None = None

    def start(self, timeout_s: float = 10) -> str:
        if self.url is not None:
            return self.url
        # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only then (else
        # Nagle + delayed ACK add ~40 ms to every keep-alive response)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", self.port))
        except OSError:
            sock.close()
            raise
        self._sock = sock
        port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                                lifespan="on", loop="asyncio", http="h11", ws="none", proxy_headers=False,
                                server_header=False, timeout_graceful_shutdown=3)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"mm-gateway-{port}", daemon=True)
        self._thread.start()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout_s
        import httpx

        while True:
            if not self._thread.is_alive():
                self.stop()
                raise RuntimeError("the gateway did not start")
            if self._server.started:
                try:
                    httpx.get(url + "/", timeout=2.0)  # outside /functions/v1: not rate limited, not slowed, no DB
                    break
                except httpx.HTTPError:
                    pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the gateway did not answer within {timeout_s} s")
            time.sleep(0.02)
        self.url = url
        return url

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is not None:
            server.should_exit = True
        if thread is not None and thread.is_alive():
            thread.join(timeout=10)
            if thread.is_alive() and server is not None:
                server.force_exit = True
                thread.join(timeout=5)
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._server = self._thread = self._sock = None
        self.url = None

    def __enter__(self) -> GatewayServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


ENV_PREFIX = "MM_GATEWAY_"


def config_from_env(env: dict[str, str] | None = None) -> GatewayConfig:
    env = dict(os.environ if env is None else env)
    missing = [k for k in ("CONNINFO", "JWT_SECRET", "API_SECRET") if not env.get(ENV_PREFIX + k)]
    if missing:
        raise ValueError("missing environment variable(s): " + ", ".join(ENV_PREFIX + k for k in missing))
    kw: dict[str, Any] = {}
    faults = [f.strip() for f in env.get(ENV_PREFIX + "FAULTS", "").split(",") if f.strip()]
    kw["faults"] = frozenset(faults)
    if env.get(ENV_PREFIX + "ALLOWED_ORIGINS"):
        kw["allowed_origins"] = tuple(o.strip() for o in env[ENV_PREFIX + "ALLOWED_ORIGINS"].split(",") if o.strip())
    for name in ("PUBLIC_RATE_PER_MIN", "PRIVATE_RATE_PER_MIN", "SLOW_MS"):
        if env.get(ENV_PREFIX + name):
            kw[name.lower()] = int(env[ENV_PREFIX + name])
    return GatewayConfig(conninfo=env[ENV_PREFIX + "CONNINFO"], jwt_secret=env[ENV_PREFIX + "JWT_SECRET"],
                         api_secret=env[ENV_PREFIX + "API_SECRET"], **kw)


def main(argv: list[str] | None = None) -> None:
    """Run the gateway in the foreground; print its base URL as the first line of stdout.

    Configuration from MM_GATEWAY_CONNINFO, MM_GATEWAY_JWT_SECRET, MM_GATEWAY_API_SECRET,
    MM_GATEWAY_FAULTS (comma list) and optionally MM_GATEWAY_PUBLIC_RATE_PER_MIN,
    MM_GATEWAY_PRIVATE_RATE_PER_MIN, MM_GATEWAY_SLOW_MS, MM_GATEWAY_ALLOWED_ORIGINS.
    SIGTERM or SIGINT stops it.
    """
    parser = argparse.ArgumentParser(prog="python -m minimarket_ops.sandbox.gateway",
                                     description="Mini Market sandbox API gateway (127.0.0.1 only)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=getattr(logging, str(args.log_level).upper(), logging.INFO), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        cfg = config_from_env()
        server = GatewayServer(cfg, port=args.port)
    except ValueError as e:
        print(f"gateway: {e}", file=sys.stderr)
        raise SystemExit(4) from None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        url = server.start()
    except (OSError, RuntimeError) as e:
        print(f"gateway: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    print(url, flush=True)
    try:
        while not stop.wait(0.5):
            if not server.alive:
                raise SystemExit(1)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
