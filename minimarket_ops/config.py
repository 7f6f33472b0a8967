"""Configuration: the committed TOML defaults, an operator's overlay, environment variables.

Validated with pydantic-settings. Any bad value stops the run before any check with one
line naming the key (`ConfigError`); secrets are never in the files, only the *names* of
the environment variables that hold them.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from minimarket_ops.masking import Redactor

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULTS_FILE = REPO_ROOT / "minimarket-ops.toml"
OVERLAY_ENV = "MINIMARKET_OPS_CONFIG"
ENV_PREFIX = "MINIMARKET_OPS__"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ConfigError(Exception):
    """A configuration problem, as one line an operator can act on (never holds a secret)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Strict):
    statement_timeout_ms: int = Field(10_000, gt=0, le=600_000)
    lock_timeout_ms: int = Field(1_000, gt=0, le=60_000)
    idle_in_transaction_session_timeout_ms: int = Field(15_000, gt=0, le=600_000)
    connect_timeout_s: int = Field(5, gt=0, le=120)
    application_name: str = Field("minimarket-ops", min_length=1, max_length=63)
    pool_max_size: int = Field(4, ge=1, le=20)


class ApiSettings(_Strict):
    timeout_s: float = Field(10.0, gt=0, le=120)
    request_budget_count: int = Field(120, ge=1, le=10_000)
    # PEM bundle to verify https targets with (a private CA); None: the system's CAs
    ca_file: str | None = None

    @field_validator("ca_file")
    @classmethod
    def _ca_file(cls, v: str | None) -> str | None:
        if not v:
            return None
        path = Path(v) if Path(v).is_absolute() else REPO_ROOT / v
        if not path.is_file():
            raise ValueError("file not found")
        return str(path)


class Thresholds(_Strict):
    """Every threshold carries its unit in its name; defaults from TARGET-SYSTEM.md."""

    # health
    api_health_p95_ms: float = Field(200, gt=0)
    api_health_samples_count: int = Field(5, ge=1, le=50)
    # integrity (checks/integrity)
    orphan_products_max_count: int = Field(0, ge=0)
    core_table_min_rows_count: int = Field(1, ge=1, le=100_000_000)
    orphan_stock_max_count: int = Field(0, ge=0, le=1_000_000)
    orphan_prices_max_count: int = Field(0, ge=0, le=1_000_000)
    duplicate_vigente_prices_max_count: int = Field(0, ge=0, le=1_000_000)
    dangling_category_parents_max_count: int = Field(0, ge=0, le=10_000)
    category_cycles_max_count: int = Field(0, ge=0, le=10_000)
    category_tree_max_depth_count: int = Field(32, ge=2, le=1_000)
    negative_stock_max_count: int = Field(0, ge=0, le=1_000_000)
    inverted_stock_bounds_max_count: int = Field(0, ge=0, le=1_000_000)
    non_positive_prices_max_count: int = Field(0, ge=0, le=1_000_000)
    duplicate_identifiers_max_count: int = Field(0, ge=0, le=1_000_000)
    products_without_barcode_max_pct: float = Field(5, ge=0, le=100)
    expired_vigente_prices_max_count: int = Field(0, ge=0, le=1_000_000)
    invalid_indexes_max_count: int = Field(0, ge=0, le=10_000)
    unvalidated_constraints_max_count: int = Field(0, ge=0, le=10_000)
    # -- end integrity
    # security (checks/security)
    failed_logins_per_ip_max_count: int = Field(5, ge=0, le=100_000)
    failed_logins_window_hours: int = Field(24, ge=1, le=24 * 31)
    secrets_scan_window_days: int = Field(7, ge=1, le=90)
    secrets_scan_candidates_max_count: int = Field(200, ge=1, le=10_000)
    inactive_staff_window_days: int = Field(7, ge=1, le=365)
    # -- end security


class TableMap(_Strict):
    name: str = Field(min_length=1)
    schema_name: str = Field("public", min_length=1)
    columns: dict[str, str] = Field(default_factory=dict)


class ObjectRef(_Strict):
    """A non-table object the schema manifest expects (view, index, function, ...).

    In TOML a plain string: "name" (schema public) or "schema.name".
    """

    name: str = Field(min_length=1)
    schema_name: str = Field("public", min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, v: Any) -> Any:
        if isinstance(v, str):
            schema_name, dot, name = v.partition(".")
            return {"schema_name": schema_name, "name": name} if dot else {"name": v}
        return v

    @property
    def qualified(self) -> str:
        return f"{self.schema_name}.{self.name}"


_FK_SPEC = re.compile(r"^\s*(\w+)\.(\w+)\s*(?:->|→)\s*(\w+)(?:\.(\w+))?\s*$")


class ForeignKeyRef(_Strict):
    """An expected foreign key, named by what it connects in schema-map keys, so a table or
    column renamed in the map follows: "productos.categoria_id -> categorias" (the referenced
    column defaults to the map's "id"; "a.b -> c.d" names it)."""

    table: str = Field(min_length=1)
    column: str = Field(min_length=1)
    references: str = Field(min_length=1)
    ref_column: str = Field("id", min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, v: Any) -> Any:
        if isinstance(v, str):
            m = _FK_SPEC.match(v)
            if not m:
                raise ValueError("expected 'table.column -> table' (schema map keys)")
            table, column, references, ref_column = m.groups()
            return {"table": table, "column": column, "references": references, "ref_column": ref_column or "id"}
        return v

    def __str__(self) -> str:
        ref = self.references if self.ref_column == "id" else f"{self.references}.{self.ref_column}"
        return f"{self.table}.{self.column} -> {ref}"


class SchemaObjects(_Strict):
    """What the schema manifest expects besides the mapped tables and columns."""

    views: list[ObjectRef] = Field(default_factory=list)
    materialized_views: list[ObjectRef] = Field(default_factory=list)
    indexes: list[ObjectRef] = Field(default_factory=list)
    functions: list[ObjectRef] = Field(default_factory=list)
    foreign_keys: list[ForeignKeyRef] = Field(default_factory=list)


class TargetConfig(_Strict):
    kind: Literal["sandbox", "remote"] = "remote"
    environment: Literal["production", "staging", "sandbox"] = "production"
    description: str = ""
    database_url_env: str | None = None
    supabase_url: str | None = None
    supabase_url_env: str | None = None
    anon_key_env: str | None = None
    service_role_key_env: str | None = None
    user_jwt_env: str | None = None
    api_secret_env: str | None = None
    # Legacy JWT keys go as `Authorization: Bearer` too; sb_publishable_ keys do not.
    anon_key_as_bearer: bool = True
    pooler_mode: Literal["direct", "session", "transaction"] = "direct"
    # API probes that write (the contract check's POST/PUT/DELETE); staging only, never production
    allow_writes: bool = False
    # the OpenAPI document the API checks hold this target to, relative to the repository
    # ("" for none: contract_conformance is then not applicable)
    contract: str | None = "fixtures/openapi/minimarket-api.yaml"
    # check id or marker -> reason; declared not applicable for this target
    not_applicable: dict[str, str] = Field(default_factory=dict)
    thresholds: dict[str, Any] = Field(default_factory=dict)
    # sandbox only: faults switched on, data scale
    faults: list[str] = Field(default_factory=list)
    scale: float = Field(1.0, gt=0, le=1000)

    @field_validator("database_url_env", "supabase_url_env", "anon_key_env", "service_role_key_env", "user_jwt_env",
                     "api_secret_env")
    @classmethod
    def _env_name(cls, v: str | None) -> str | None:
        # The *name* of a variable; a URL or key pasted here would be echoed by every error about it.
        if v is not None and not _ENV_NAME.fullmatch(v):
            raise ValueError("must be the name of an environment variable (letters, digits, _), not its value")
        return v

    @field_validator("supabase_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/") if v else v

    @field_validator("contract")
    @classmethod
    def _contract(cls, v: str | None) -> str | None:
        if not v:
            return None
        if not (REPO_ROOT / v).is_file():
            raise ValueError(f"contract document not found: {v}")
        return v

    @property
    def contract_path(self) -> Path | None:
        return REPO_ROOT / self.contract if self.contract else None

    @model_validator(mode="after")
    def _shape(self) -> "TargetConfig":
        if self.kind == "remote" and not self.database_url_env and "uses_database" not in self.not_applicable:
            raise ValueError("a remote target needs database_url_env (or not_applicable.uses_database)")
        if self.kind == "remote" and self.faults:
            raise ValueError("faults exist only on the sandbox target")
        if self.allow_writes and self.environment == "production":
            raise ValueError("allow_writes is for staging targets: checks never write to production")
        return self


class RunSettings(_Strict):
    default_target: str = "sandbox"
    reports_dir: str = "reports"
    mask_personal_data: bool = True


class FailedLoginSource(_Strict):
    """Where failed logins are recorded: a schema-map table key and two of its column keys."""

    table: str = Field("failed_login_attempts", min_length=1)
    ip_column: str = Field("ip_address", min_length=1)
    time_column: str = Field("attempt_time", min_length=1)


class LogSource(_Strict):
    """A log table scanned for secrets: schema-map keys of the table and of its columns."""

    table: str = Field(min_length=1)
    text_columns: list[str] = Field(min_length=1)
    time_column: str = Field(min_length=1)
    id_column: str = Field("id", min_length=1)
    level_column: str | None = None


class SecuritySettings(_Strict):
    """What the database security checks judge (checks/security/test_db_*.py)."""

    exposed_schemas: list[str] = Field(default_factory=lambda: ["public"], min_length=1)
    anon_role: str = Field("anon", min_length=1)
    api_roles: list[str] = Field(default_factory=lambda: ["anon", "authenticated"], min_length=1)
    sensitive_tables: list[str] = Field(default_factory=lambda: [
        "personal", "audit_log", "failed_login_attempts", "security_logs", "configuracion_proveedor"])
    permissive_policy_allow: list[str] = Field(default_factory=list)
    definer_allow: list[str] = Field(default_factory=list)
    login_role_allow: list[str] = Field(default_factory=lambda: ["postgres"])
    staff_roles: list[str] = Field(default_factory=lambda: ["admin", "deposito", "ventas", "supervisor"], min_length=1)
    failed_logins: FailedLoginSource = FailedLoginSource()
    log_sources: list[LogSource] = Field(default_factory=list)
    loopback_is_local: bool = True

    def unknown_map_keys(self, schema_map: dict[str, TableMap]) -> list[str]:
        """Schema-map keys this section names that the map does not define (a config error)."""
        out = []

        def table(where: str, key: str) -> TableMap | None:
            if key not in schema_map:
                out.append(f"security.{where}: {key!r} is not a schema_map table")
                return None
            return schema_map[key]

        def column(where: str, tm: TableMap | None, key: str | None) -> None:
            if tm is not None and key is not None and key not in tm.columns:
                out.append(f"security.{where}: {key!r} is not a column key of schema_map.{tm.name}")

        for key in self.sensitive_tables:
            table("sensitive_tables", key)
        for key in self.permissive_policy_allow:
            if "." not in key:  # "schema.table" names a table outside the map
                table("permissive_policy_allow", key)
        fl = self.failed_logins
        tm = table("failed_logins.table", fl.table)
        column("failed_logins.ip_column", tm, fl.ip_column)
        column("failed_logins.time_column", tm, fl.time_column)
        for i, src in enumerate(self.log_sources):
            tm = table(f"log_sources[{i}].table", src.table)
            for c in (*src.text_columns, src.time_column, src.id_column, src.level_column):
                column(f"log_sources[{i}]", tm, c)
        return out



# -- API security (checks/security/test_api_*.py) ------------------------------------------
_ORIGIN = re.compile(r"^https?://[^\s/?#]+$")
_FUNCTION = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _probe_path(v: str) -> str:
    if not v.startswith("/") or "://" in v or any(c.isspace() for c in v):
        raise ValueError("must be a path under /functions/v1 starting with '/' (no scheme, no spaces)")
    return v


class ProtectedRoute(_Strict):
    """A harmless GET path under /functions/v1 that needs a token. `requires` is what the
    function's own code demands beyond a valid JWT: "token" (any valid JWT: the anon key
    passes), "user" (a logged-in user or the service role: the anon key is refused),
    "service_role"."""

    path: str
    requires: Literal["token", "user", "service_role"] = "user"

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        return _probe_path(v)


class ErrorProbe(_Strict):
    """A request that should get an error answer; sent with no credential or with the
    reader's (the user JWT, else the service role key). Only safe methods."""

    name: str = Field(min_length=1, max_length=60)
    path: str
    method: Literal["GET", "HEAD", "OPTIONS"] = "GET"
    role: Literal["none", "reader"] = "none"

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        return _probe_path(v)


def _default_error_probes() -> list[ErrorProbe]:
    return [
        ErrorProbe(name="unknown function", path="/minimarket-ops-no-such-function"),
        ErrorProbe(name="unknown route", path="/api-minimarket/minimarket-ops-no-such-route", role="reader"),
        ErrorProbe(name="method not allowed", method="OPTIONS", path="/api-minimarket/categorias", role="reader"),
        ErrorProbe(name="malformed id", path="/api-minimarket/productos/not-a-uuid", role="reader"),
    ]


class ApiSecuritySettings(_Strict):
    """What the API security checks probe and judge (checks/security/test_api_*.py).

    Every probe is a GET, HEAD or OPTIONS on a path no function acts on (DESIGN, safety);
    the per-run request counts are in minimarket-ops.toml next to each setting."""

    protected_routes: list[ProtectedRoute] = Field(
        default_factory=lambda: [ProtectedRoute(path="/api-minimarket/categorias?limite=1")])
    service_role_functions: list[str] = Field(default_factory=lambda: [
        "scraper-maxiconsumo", "alertas-stock", "notificaciones-tareas", "reportes-automaticos"])
    service_probe_path: str = "/status"
    public_path: str = "/api-minimarket"
    cors_probe_path: str = "/api-minimarket/categorias"
    foreign_origin: str = "https://evil.example"
    allowed_origins: list[str] = Field(
        default_factory=lambda: ["https://minimarket.example.com", "http://localhost:3000"], min_length=1)
    development_origins: list[str] = Field(default_factory=lambda: ["http://localhost:3000"])
    error_probes: list[ErrorProbe] = Field(default_factory=_default_error_probes)
    contract_examples_per_operation_count: int = Field(3, ge=1, le=50)
    contract_max_requests_count: int = Field(45, ge=1, le=1_000)

    @field_validator("service_role_functions")
    @classmethod
    def _functions(cls, v: list[str]) -> list[str]:
        for name in v:
            if not _FUNCTION.match(name):
                raise ValueError(f"not a function name: {name[:40]!r}")
        return v

    @field_validator("service_probe_path", "public_path", "cors_probe_path")
    @classmethod
    def _paths(cls, v: str) -> str:
        return _probe_path(v)

    @field_validator("foreign_origin")
    @classmethod
    def _origin(cls, v: str) -> str:
        if not _ORIGIN.match(v):
            raise ValueError("must be an origin: scheme://host[:port]")
        return v

    @field_validator("allowed_origins", "development_origins")
    @classmethod
    def _origins(cls, v: list[str]) -> list[str]:
        for o in v:
            if o == "*" or not _ORIGIN.match(o):
                raise ValueError(f"not an origin (scheme://host[:port]): {o[:40]!r}")
        return v

    @model_validator(mode="after")
    def _foreign_is_foreign(self) -> "ApiSecuritySettings":
        if self.foreign_origin in self.allowed_origins:
            raise ValueError("foreign_origin must not be one of allowed_origins")
        return self

    def probe_routes(self) -> list[ProtectedRoute]:
        """The protected routes plus each service-role function's probe path."""
        return [*self.protected_routes, *(ProtectedRoute(path=f"/{fn}{self.service_probe_path}",
                                                         requires="service_role")
                                          for fn in self.service_role_functions)]

    def allowed_origins_for(self, environment: str) -> list[str]:
        """A production target allows no development origin, whatever allowed_origins says."""
        if environment != "production":
            return list(self.allowed_origins)
        return [o for o in self.allowed_origins if o not in self.development_origins]

    def origins_to_refuse(self, environment: str) -> list[str]:
        """The foreign origin, and on production targets the development origins."""
        extra = [o for o in self.development_origins if o not in self.allowed_origins_for(environment)]
        return [self.foreign_origin, *extra]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    run: RunSettings = RunSettings()
    database: DatabaseSettings = DatabaseSettings()
    api: ApiSettings = ApiSettings()
    thresholds: Thresholds = Thresholds()
    targets: dict[str, TargetConfig] = Field(default_factory=dict)
    schema_map: dict[str, TableMap] = Field(default_factory=dict)
    schema_objects: SchemaObjects = SchemaObjects()
    security: SecuritySettings = SecuritySettings()
    api_security: ApiSecuritySettings = ApiSecuritySettings()
    alerts: dict[str, Any] = Field(default_factory=dict)  # routes: a later issue

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment variables win over the files (passed in as init values).
        return (env_settings, init_settings)

    def thresholds_for(self, target: str) -> Thresholds:
        override = self.targets[target].thresholds
        if not override:
            return self.thresholds
        try:
            return Thresholds(**{**self.thresholds.model_dump(), **override})
        except ValidationError as exc:
            raise ConfigError(_describe(exc, prefix=f"targets.{target}.thresholds")) from None


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML: {exc}") from None


def _describe(exc: ValidationError, prefix: str = "") -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        key = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        got = err.get("input")
        # Only scalar values are echoed, short, and through the redactor: an environment
        # override can carry a URL with a password where a plain value was expected.
        if isinstance(got, (int, float, str, bool)) and err["type"] != "extra_forbidden":
            msg += f" (got {Redactor()(got)[:40]!r})" if isinstance(got, str) else f" (got {got})"
        parts.append(f"{key}: {msg}")
    return "; ".join(parts)


def load_settings(overlay: str | os.PathLike | None = None) -> Settings:
    """Committed defaults, then the overlay (argument or $MINIMARKET_OPS_CONFIG), then env."""
    data = _read_toml(DEFAULTS_FILE)
    overlay = overlay or os.environ.get(OVERLAY_ENV)
    if overlay:
        data = _deep_merge(data, _read_toml(Path(overlay)))
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    if problems := settings.security.unknown_map_keys(settings.schema_map):
        raise ConfigError("; ".join(problems))
    if settings.run.default_target not in settings.targets:
        raise ConfigError(f"run.default_target: unknown target {settings.run.default_target!r}")
    _check_schema_objects(settings)
    for name in settings.targets:
        settings.thresholds_for(name)
    return settings


def _check_schema_objects(settings: Settings) -> None:
    """Expected foreign keys name schema-map keys: an unknown key is a configuration error."""
    maps = settings.schema_map
    for i, fk in enumerate(settings.schema_objects.foreign_keys):
        for table, column in ((fk.table, fk.column), (fk.references, fk.ref_column)):
            where = f"schema_objects.foreign_keys[{i}] ({fk})"
            if table not in maps:
                raise ConfigError(f"{where}: schema_map defines no table {table!r}")
            if column not in maps[table].columns:
                raise ConfigError(f"{where}: schema_map.{table} defines no column {column!r}")


def resolve_target(settings: Settings, name: str | None) -> tuple[str, TargetConfig]:
    name = name or settings.run.default_target
    if name not in settings.targets:
        known = ", ".join(sorted(settings.targets))
        raise ConfigError(f"--target: unknown target {name!r} (configured: {known})")
    return name, settings.targets[name]
