"""Secrets in free text, recognised by their shape (runbook 7.1, errata 7).

Pure functions, no I/O. A check finds *candidate* rows in SQL with the loose patterns of
`SQL_PATTERNS` (bounded by a time window and a LIMIT) and confirms them here:

- card numbers: 14–19 digits, contiguous or in the networks' usual groupings (4-4-4-4,
  4-4-4-4-3, 4-6-5, 4-6-4) with one consistent separator (space or dash), standing
  apart from letters and digits, passing the Luhn check and carrying a card network's
  prefix and length. 13 digits is the EAN-13 barcode's length and is never a card here;
  EAN-8/EAN-13 lists, dates, timestamps and UUIDs never form these groupings;
- JWTs (header and payload decoded, never verified: `role=service_role` is reported);
- key-shaped tokens: `sb_secret_…`, `sk_live_…`/`sk_test_…`/`sk_…`;
- password assignments (`password=…`, `"passwd": …`, `contraseña: …`) and passwords in
  URLs (`postgresql://user:…@host`).

Nothing is ever sent anywhere: detection happens on text the database already returned.
A detection carries only a masked label (`****-1111 visa`, `eyJ…(jwt, role=service_role)`),
never the secret; `mask_secrets` and `excerpt` give text with every detection replaced.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import ipaddress
import json
import re
from dataclasses import dataclass

# -- patterns for the SQL prefilter ------------------------------------------------------
# Valid both as PostgreSQL AREs and Python `re` patterns (tests check both). Each is a
# superset of what the functions below confirm, so the prefilter never hides a secret.
# `password` is matched case-insensitively (`~*` in SQL).
SQL_PATTERNS: dict[str, str] = {
    "card": r"(^|[^0-9A-Za-z_])([0-9]{14,19}|[0-9]{4}[ -][0-9]{4}[ -][0-9]{4}[ -][0-9]{4}"
            r"|[0-9]{4}[ -][0-9]{6}[ -][0-9]{4,5})([^0-9A-Za-z_]|$)",
    "token": r"eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.|sb_secret_[A-Za-z0-9_-]{8,}|sk_[A-Za-z0-9_-]{12,}"
             r"|[A-Za-z][A-Za-z0-9+.-]*://[^/@ ]*:[^/@ ]+@",
    "password": "(password|passwd|pwd|contrase(ñ|n)a)[\"']?[ ]*[=:]",
}
CASE_INSENSITIVE = frozenset({"password"})

# -- cards -------------------------------------------------------------------------------
# A maximal run of digit groups joined by single spaces or dashes.
_RUN = re.compile(r"[0-9]+(?:[ -][0-9]+)*")
_ALNUM = re.compile(r"[0-9A-Za-z_]")
# Group layouts (lengths) a printed card number uses; a single group is "contiguous".
_LAYOUTS = {(4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4)}
CARD_LENGTHS = range(14, 20)

# (network, prefix ranges as (low, high) strings of equal length, allowed lengths)
_NETWORKS: list[tuple[str, list[tuple[str, str]], set[int]]] = [
    ("amex", [("34", "34"), ("37", "37")], {15}),
    ("diners", [("300", "305"), ("36", "36"), ("38", "39")], {14, 15, 16, 17, 18, 19}),
    ("jcb", [("3528", "3589")], {16, 17, 18, 19}),
    ("visa", [("4", "4")], {16, 19}),  # 13-digit Visa numbers are not issued any more
    ("mastercard", [("51", "55"), ("2221", "2720")], {16}),
    ("mir", [("2200", "2204")], {16, 17, 18, 19}),
    # Argentina: Naranja, Cabal, Argencard (domestic networks of the store's customers)
    ("naranja", [("589562", "589562")], {16}),
    ("cabal", [("604201", "604219"), ("604300", "604399"), ("589657", "589657"), ("600691", "600691")], {16}),
    ("argencard", [("501105", "501105")], {16}),
    ("discover", [("6011", "6011"), ("644", "649"), ("65", "65"), ("622126", "622925")], {16, 17, 18, 19}),
    ("unionpay", [("62", "62"), ("81", "81")], {16, 17, 18, 19}),
    ("maestro", [("5018", "5018"), ("5020", "5020"), ("5038", "5038"), ("5893", "5893"), ("6304", "6304"),
                 ("6759", "6759"), ("6761", "6763")], {14, 15, 16, 17, 18, 19}),
]


def luhn_ok(digits: str) -> bool:
    if not digits.isdigit() or not digits.isascii():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_network(digits: str) -> str | None:
    """The network whose prefix and length fit `digits`, or None."""
    for name, ranges, lengths in _NETWORKS:
        if len(digits) not in lengths:
            continue
        for low, high in ranges:
            head = digits[: len(low)]
            if low <= head <= high:
                return name
    return None


def is_card_number(digits: str) -> str | None:
    """The network of a plausible card number (length, prefix, Luhn), else None."""
    if len(digits) not in CARD_LENGTHS or not luhn_ok(digits):
        return None
    return card_network(digits)


@dataclass(frozen=True)
class Detection:
    kind: str    # card | jwt | key | password | url_password
    start: int
    end: int
    label: str   # the masked form shown in findings (never the secret)


def find_cards(text: str) -> list[Detection]:
    out: list[Detection] = []
    for m in _RUN.finditer(text):
        run_start, run_end = m.span()
        left_ok = run_start == 0 or not _ALNUM.match(text[run_start - 1])
        right_ok = run_end == len(text) or not _ALNUM.match(text[run_end])
        # Groups with their spans inside the run.
        groups = [(g.start() + run_start, g.end() + run_start) for g in re.finditer(r"[0-9]+", m.group())]
        taken_until = -1
        for i in range(len(groups)):
            if groups[i][0] < taken_until:
                continue
            for j in range(min(len(groups), i + 5), i, -1):  # longest layout first
                span = groups[i:j]
                if (i == 0 and not left_ok) or (j == len(groups) and not right_ok):
                    continue
                lengths = tuple(e - s for s, e in span)
                if len(span) == 1:
                    if lengths[0] not in CARD_LENGTHS:
                        continue
                elif lengths not in _LAYOUTS:
                    continue
                seps = {text[span[k][1]] for k in range(len(span) - 1)}
                if len(seps) > 1:
                    continue
                start, end = span[0][0], span[-1][1]
                digits = "".join(text[s:e] for s, e in span)
                network = is_card_number(digits)
                if network:
                    out.append(Detection("card", start, end, f"[card ****-{digits[-4:]} {network}]"))
                    taken_until = end
                    break
    return out


# -- tokens ------------------------------------------------------------------------------
_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*")
_KEY = re.compile(r"(?<![A-Za-z0-9_])(sb_secret_|sk_live_|sk_test_|sk_)([A-Za-z0-9_-]{12,})")
_PASSWORD = re.compile(
    r"(?i)(?<![A-Za-z0-9])(password|passwd|pwd|contrase(?:ñ|n)a)([\"']?[ ]*[=:][ ]*[\"']?)([^\s&;,'\"<>]+)"
)
_URL_PASSWORD = re.compile(r"(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]*://)([^/@\s:]*):([^/@\s]+)@")
# Values that are already masked placeholders, not passwords.
_PLACEHOLDER = re.compile(r"(?i)^(\*+|x{3,}|«redacted»|\[redacted\]|redacted|hidden|oculta|null|none|\.\.\.|…)$")


def _b64json(part: str) -> dict | None:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def jwt_role(token: str) -> tuple[bool, str | None]:
    """(is a JWT, its `role` claim): header and payload decoded, the signature never read."""
    parts = token.split(".")
    if len(parts) != 3:
        return False, None
    header = _b64json(parts[0])
    if header is None or not ({"alg", "typ"} & header.keys()):
        return False, None
    payload = _b64json(parts[1]) or {}
    role = payload.get("role")
    return True, role if isinstance(role, str) and role.isascii() and len(role) <= 40 else None


def find_tokens(text: str) -> list[Detection]:
    out: list[Detection] = []
    for m in _JWT.finditer(text):
        ok, role = jwt_role(m.group())
        if ok:
            safe_role = re.sub(r"[^A-Za-z0-9_-]", "?", role) if role else None
            out.append(Detection("jwt", m.start(), m.end(),
                                 f"eyJ…(jwt, role={safe_role})" if safe_role else "eyJ…(jwt)"))
    for m in _KEY.finditer(text):
        out.append(Detection("key", m.start(), m.end(), f"{m.group(1)}…(key)"))
    for m in _PASSWORD.finditer(text):
        if _PLACEHOLDER.match(m.group(3)):
            continue
        out.append(Detection("password", m.start(), m.end(), f"{m.group(1)}=…(redacted)"))
    for m in _URL_PASSWORD.finditer(text):
        if _PLACEHOLDER.match(m.group(3)):
            continue
        out.append(Detection("url_password", m.start(), m.end(), f"{m.group(1)}…:…(redacted)@"))
    return out


# -- all together ------------------------------------------------------------------------
def find_secrets(text: str) -> list[Detection]:
    """Every secret in `text`, sorted, without overlaps (the earliest, longest wins)."""
    if not text:
        return []
    found = sorted(find_cards(text) + find_tokens(text), key=lambda d: (d.start, -(d.end - d.start)))
    out: list[Detection] = []
    for d in found:
        if out and d.start < out[-1].end:
            continue
        out.append(d)
    return out


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_IPV4 = re.compile(r"(?<![0-9.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9.])")


def _mask_personal(text: str) -> str:
    """E-mail addresses and IPv4 addresses in an excerpt (Ley 25.326)."""
    def email(m: re.Match) -> str:
        local, _, domain = m.group().partition("@")
        return f"{local[:1]}***@{domain[:1]}***"

    def ip(m: re.Match) -> str:
        try:
            ipaddress.ip_address(m.group())
        except ValueError:
            return m.group()
        return ".".join(m.group().split(".")[:2] + ["x", "x"])

    return _IPV4.sub(ip, _EMAIL.sub(email, text))


def mask_secrets(text: str, detections: list[Detection] | None = None) -> str:
    """`text` with every detection replaced by its label."""
    detections = find_secrets(text) if detections is None else detections
    out, pos = [], 0
    for d in detections:
        out.append(text[pos:d.start])
        out.append(d.label)
        pos = d.end
    out.append(text[pos:])
    return "".join(out)


def excerpt(text: str, detections: list[Detection] | None = None, context: int = 40, max_len: int = 240) -> str:
    """A short masked excerpt around the first detection: secrets replaced, e-mails and IPs masked."""
    detections = find_secrets(text) if detections is None else detections
    if not detections:
        return ""
    first = detections[0]
    start = max(0, first.start - context)
    end = min(len(text), first.end + context)
    # Whole words at the edges (an e-mail cut in half would escape its masking), within reason.
    while start > 0 and not text[start - 1].isspace() and first.start - start < 2 * context:
        start -= 1
    while end < len(text) and not text[end].isspace() and end - first.end < 2 * context:
        end += 1
    # Never cut through a detection: widen to the detections the window touches.
    inside = [d for d in detections if d.end > start and d.start < end]
    start = min([start] + [d.start for d in inside])
    end = max([end] + [d.end for d in inside])
    shifted = [Detection(d.kind, d.start - start, d.end - start, d.label) for d in inside]
    body = _mask_personal(mask_secrets(text[start:end], shifted))
    body = " ".join(body.split())  # one line
    if len(body) > max_len:
        body = body[: max_len - 1] + "…"
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


def redact_secrets(text: str, replacement: str) -> str:
    """Every secret the detector confirms (cards, JWTs, keys, passwords, URL passwords)
    replaced: the run-wide Redactor's last pass, so outputs hide what the check finds."""
    if not text:
        return text
    return mask_secrets(text, [dataclasses.replace(d, label=replacement) for d in find_secrets(text)])
