"""Configuration: the committed TOML defaults, an operator's overlay, environment variables.

Validated with pydantic-settings. Any bad value stops the run before any check with one
line naming the key (`ConfigError`); secrets are never in the files, only the *names* of
the environment variables that hold them.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULTS_FILE = Path(__file__).resolve().parent.parent / "minimarket-ops.toml"
OVERLAY_ENV = "MINIMARKET_OPS_CONFIG"
ENV_PREFIX = "MINIMARKET_OPS__"


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


class Thresholds(_Strict):
    """Every threshold carries its unit in its name; defaults from TARGET-SYSTEM.md."""

    # health
    api_health_p95_ms: float = Field(200, gt=0)
    api_health_samples_count: int = Field(5, ge=1, le=50)
    # integrity (checks/integrity)
    orphan_products_max_count: int = Field(0, ge=0)
    # -- end integrity
    # security (checks/security)
    # -- end security


class TableMap(_Strict):
    name: str = Field(min_length=1)
    schema_name: str = Field("public", min_length=1)
    columns: dict[str, str] = Field(default_factory=dict)


class ObjectRef(_Strict):
    """A non-table object the schema manifest expects (view, index, function, ...)."""

    name: str = Field(min_length=1)
    schema_name: str = Field("public", min_length=1)


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
    allow_writes: bool = False
    # check id or marker -> reason; declared not applicable for this target
    not_applicable: dict[str, str] = Field(default_factory=dict)
    thresholds: dict[str, Any] = Field(default_factory=dict)
    # sandbox only: faults switched on, data scale
    faults: list[str] = Field(default_factory=list)
    scale: float = Field(1.0, gt=0, le=1000)

    @field_validator("supabase_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/") if v else v

    @model_validator(mode="after")
    def _shape(self) -> "TargetConfig":
        if self.kind == "remote" and not self.database_url_env and "uses_database" not in self.not_applicable:
            raise ValueError("a remote target needs database_url_env (or not_applicable.uses_database)")
        if self.kind == "remote" and self.faults:
            raise ValueError("faults exist only on the sandbox target")
        return self


class RunSettings(_Strict):
    default_target: str = "sandbox"
    reports_dir: str = "reports"
    mask_personal_data: bool = True


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
    schema_objects: dict[str, list[ObjectRef]] = Field(default_factory=dict)
    sensitive: dict[str, list[str]] = Field(default_factory=dict)
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
        # Only scalar values are echoed: a config value is never a secret, but keep it short.
        if isinstance(got, (int, float, str, bool)) and err["type"] != "extra_forbidden":
            msg += f" (got {got[:40]!r})" if isinstance(got, str) else f" (got {got})"
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
    if settings.run.default_target not in settings.targets:
        raise ConfigError(f"run.default_target: unknown target {settings.run.default_target!r}")
    for name in settings.targets:
        settings.thresholds_for(name)
    return settings


def resolve_target(settings: Settings, name: str | None) -> tuple[str, TargetConfig]:
    name = name or settings.run.default_target
    if name not in settings.targets:
        known = ", ".join(sorted(settings.targets))
        raise ConfigError(f"--target: unknown target {name!r} (configured: {known})")
    return name, settings.targets[name]
