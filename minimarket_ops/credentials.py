"""A target's credentials, read from the environment variables its configuration names."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from minimarket_ops.config import ConfigError, TargetConfig


@dataclass(frozen=True)
class Credentials:
    database_url: str | None = None
    supabase_url: str | None = None
    anon_key: str | None = None
    service_role_key: str | None = None
    user_jwt: str | None = None
    api_secret: str | None = None

    def secrets(self) -> list[str]:
        # The URL's host is not a secret, but the whole URL may carry a password.
        return [v for f in fields(self) if f.name != "supabase_url" and (v := getattr(self, f.name))]

    def __repr__(self) -> str:  # never print the values
        present = [f.name for f in fields(self) if getattr(self, f.name)]
        return f"Credentials(present={present})"


_ENV_FIELDS = {
    "database_url": "database_url_env",
    "supabase_url": "supabase_url_env",
    "anon_key": "anon_key_env",
    "service_role_key": "service_role_key_env",
    "user_jwt": "user_jwt_env",
    "api_secret": "api_secret_env",
}


def from_environment(name: str, target: TargetConfig, environ: dict[str, str] | None = None) -> Credentials:
    """A credential the configuration names but the environment lacks stops the run."""
    environ = os.environ if environ is None else environ
    values: dict[str, str | None] = {"supabase_url": target.supabase_url}
    missing = []
    for field, key in _ENV_FIELDS.items():
        env_name = getattr(target, key)
        if not env_name:
            continue
        value = environ.get(env_name, "").strip()
        if not value:
            missing.append(f"targets.{name}.{key}: environment variable {env_name} is not set")
        else:
            values[field] = value
    if missing:
        raise ConfigError("; ".join(missing))
    url = values.get("supabase_url")
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(f"targets.{name}.supabase_url_env: value is not an http(s) URL")
    if url:
        values["supabase_url"] = url.rstrip("/")
    return Credentials(**values)
