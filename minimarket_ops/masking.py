"""Keeping secrets and personal data out of everything the suite writes.

Two layers: `Redactor` replaces the run's known secret values (and anything shaped like
a credential) in free text; `mask_row` masks personal data in sample rows by column name
(Ley 25.326) unless the configuration allows it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from minimarket_ops.secrets_detector import redact_secrets

REDACTED = "«redacted»"

# Shapes that are credentials whatever their value, each with its replacement: for
# `password=...` and URL passwords the key stays, so the finding still reads.
_SHAPES = [
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),  # JWT
    (re.compile(r"\bsb_(?:secret|publishable)_[A-Za-z0-9_-]{8,}"), REDACTED),
    (re.compile(r"\bsk_(?:live|test)?_?[A-Za-z0-9]{16,}"), REDACTED),
    (re.compile(r"(?i)(password|passwd|pwd|secret|api[_-]?key|token)\s*[=:]\s*[^\s&;,'\"]+"), rf"\1={REDACTED}"),
    (re.compile(r"(?i)(postgres(?:ql)?://[^:/@\s]+:)[^@\s]+(@)"), rf"\g<1>{REDACTED}\g<2>"),
]

# Always personal, whatever the table; a check names further personal columns of its
# sample (e.g. personal.nombre) because "nombre" is a product's name elsewhere.
PERSONAL_COLUMNS = re.compile(
    r"(?i)(^|_)(email|e_mail|mail|telefono|phone|direccion|address|ip|ip_address|"
    r"destinatario|dni|cuit|old_data|new_data|payload)($|_)"
)
SECRET_COLUMNS = re.compile(r"(?i)(password|passwd|secret|token|api_key|apikey|jwt|credential)")


class Redactor:
    """Replaces known secret values and credential-shaped text."""

    def __init__(self, secrets: Iterable[str | None] = ()):
        self._values: set[str] = set()
        for s in secrets:
            self.add(s)

    def add(self, secret: str | None) -> None:
        if not secret:
            return
        if len(secret) >= 4:
            self._values.add(secret)
        # A URL's password is a secret of its own (it may appear alone in an error).
        if "://" in secret:
            try:
                parts = urlsplit(secret)
                if parts.password and len(parts.password) >= 4:
                    self._values.add(parts.password)
                    self._values.add(unquote(parts.password))
            except ValueError:
                pass

    def __call__(self, text: str) -> str:
        if not text:
            return text
        # Longest first, so a URL goes whole before its password alone.
        for value in sorted(self._values, key=len, reverse=True):
            if value in text:
                text = text.replace(value, REDACTED)
        for shape, replacement in _SHAPES:
            text = shape.sub(replacement, text)
        # What the secrets check confirms by shape (cards by Luhn and network prefix, any
        # URL's password, keys the shapes above leave, `contraseña:`).
        return redact_secrets(text, REDACTED)


def mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    if not domain:
        return mask_text(value)
    host, _, tld = domain.rpartition(".")
    return f"{local[:1]}***@{(host or tld)[:1]}***.{tld if host else ''}".rstrip(".")


def mask_ip(value: str) -> str:
    try:
        ip = ipaddress.ip_address(value.split("/")[0])
    except ValueError:
        return mask_text(value)
    if ip.version == 4:
        return ".".join(str(ip).split(".")[:2] + ["x", "x"])
    return str(ip).split(":")[0] + ":…"


def mask_text(value: str) -> str:
    words = str(value).split()
    return " ".join(w[:1] + "***" for w in words) if words else "***"


def mask_value(column: str, value: Any) -> Any:
    if value is None:
        return None
    if SECRET_COLUMNS.search(column):
        return REDACTED
    text = str(value)
    col = column.lower()
    if "mail" in col or "@" in text and "destinatario" in col:
        return mask_email(text)
    if col in ("ip", "ip_address") or col.endswith("_ip"):
        return mask_ip(text)
    if isinstance(value, (dict, list)) or col in ("old_data", "new_data", "payload"):
        return "«masked json»"
    return mask_text(text)


def jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)


def mask_row(
    row: Mapping[str, Any], redact: Redactor, mask_personal: bool = True, personal: Iterable[str] = ()
) -> dict[str, Any]:
    personal = set(personal)
    out = {}
    for column, value in row.items():
        is_personal = column in personal or PERSONAL_COLUMNS.search(column)
        if (mask_personal and is_personal) or SECRET_COLUMNS.search(column):
            value = mask_value(column, value)
        out[column] = _redact_deep(jsonable(value), redact)
    return out


def _redact_deep(value: Any, redact: Redactor) -> Any:
    """Strings inside json values too (a jsonb column's nested token, a list of URLs)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redact_deep(v, redact) for v in value]
    if isinstance(value, dict):
        return {k: _redact_deep(v, redact) for k, v in value.items()}
    return value
