"""The secret detector of secrets_in_logs: property tests (hypothesis) and known examples.

Cards of the major networks embedded in text are found; EAN-13/EAN-8 barcodes (any prefix,
alone or in lists), dates, timestamps and UUIDs are not; JWTs, keys and passwords are found;
nothing a detection or a masked excerpt shows contains the secret.
"""

from __future__ import annotations

import os
import re
import string
from datetime import datetime, timezone

import jwt as pyjwt
import psycopg
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from minimarket_ops.masking import Redactor, mask_row
from minimarket_ops.secrets_detector import (
    CASE_INSENSITIVE, SQL_PATTERNS, excerpt, find_cards, find_secrets, is_card_number, luhn_ok, mask_secrets,
)

# More examples for a hunt: MM_HYPOTHESIS_EXAMPLES=20000 pytest tests/test_secrets_detector.py
EXAMPLES = int(os.environ.get("MM_HYPOTHESIS_EXAMPLES", "400"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(max_examples=max(50, EXAMPLES // 2), deadline=None, database=None)
DIGITS = "0123456789"
# Filler text: letters (Spanish too), spaces and punctuation, no digits (so it cannot form numbers).
FILLER = st.text(alphabet=string.ascii_letters + "áéíóúñÁÉÍÓÚÑ ,.;:()¿?¡!/", max_size=40)
LEFT = [" ", ": ", " nro ", "=", "(", "'", "\n", "\t", "[", ", ", '"card":"', " tarjeta "]
RIGHT = [" ", ".", ")", "'", ",", "\n", " vence 12/27", " cvv 123", "]", '"', ";"]


def _luhn(digits: str) -> bool:  # an independent implementation for the tests
    s = 0
    for i, d in enumerate(int(c) for c in reversed(digits)):
        s += sum(divmod(d * 2, 10)) if i % 2 else d
    return s % 10 == 0


def _with_check_digit(body: str) -> str:
    return next(body + d for d in DIGITS if _luhn(body + d))


# network -> (prefixes, lengths)
NETWORKS = {
    "visa": (["4"], [16, 19]),
    "mastercard": (["51", "52", "53", "54", "55"] + [str(p) for p in (2221, 2300, 2500, 2699, 2720)], [16]),
    "amex": (["34", "37"], [15]),
    "discover": (["6011", "644", "649", "65"], [16, 19]),
    "diners": (["300", "305", "36", "38", "39"], [14, 16]),
    "jcb": (["3528", "3550", "3589"], [16]),
    "unionpay": (["62"], [16, 19]),
    "maestro": (["5018", "6759", "6304"], [16]),
    "naranja": (["589562"], [16]),
}
LAYOUTS = {14: [(14,), (4, 6, 4)], 15: [(15,), (4, 6, 5)], 16: [(16,), (4, 4, 4, 4)], 19: [(19,), (4, 4, 4, 4, 3)]}


@st.composite
def cards(draw):
    network = draw(st.sampled_from(sorted(NETWORKS)))
    prefixes, lengths = NETWORKS[network]
    prefix, length = draw(st.sampled_from(prefixes)), draw(st.sampled_from(lengths))
    body = prefix + draw(st.text(DIGITS, min_size=length - len(prefix) - 1, max_size=length - len(prefix) - 1))
    number = _with_check_digit(body)
    layout, sep = draw(st.sampled_from(LAYOUTS[length])), draw(st.sampled_from([" ", "-"]))
    groups, pos = [], 0
    for n in layout:
        groups.append(number[pos:pos + n])
        pos += n
    return network, number, sep.join(groups)


@st.composite
def embedded(draw, token_strategy):
    token = draw(token_strategy)
    printed = token[-1] if isinstance(token, tuple) else token
    left = draw(FILLER) + draw(st.sampled_from(LEFT))
    right = draw(st.sampled_from(RIGHT)) + draw(FILLER)
    return token, left + printed + right, len(left)


@given(embedded(cards()))
@PROPERTY
def test_valid_cards_embedded_in_text_are_found(case):
    (network, number, printed), text, start = case
    assert is_card_number(number), number
    found = [d for d in find_cards(text) if d.kind == "card"]
    assert any(d.start == start for d in found), (text, found)
    masked = mask_secrets(text)
    assert number not in re.sub(r"[ -]", "", masked) and printed not in masked
    assert number[-4:] in excerpt(text) or "card ****-" in excerpt(text)
    # The SQL prefilter would have handed this row over.
    assert re.search(SQL_PATTERNS["card"], text)


@FEWER
@given(cards())
def test_card_label_shows_last_four_and_network_only(card):
    network, number, printed = card
    (d,) = find_secrets(printed)
    assert d.label == f"[card ****-{number[-4:]} {is_card_number(number)}]"
    assert number[:-4] not in d.label


def _gtin(length: int):
    def finish(body: str) -> str:
        total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
        return body + str((10 - total % 10) % 10)
    return st.text(DIGITS, min_size=length - 1, max_size=length - 1).map(finish)


EAN = st.one_of(_gtin(13), _gtin(8))
EAN_LIST_SEPS = [", ", ",", " ", ";", "; ", " | ", "\n", "-", " - ", "/", "\t"]


@st.composite
def ean_lists(draw):
    codes = draw(st.lists(EAN, min_size=1, max_size=12))
    sep = draw(st.sampled_from(EAN_LIST_SEPS))
    quoted = draw(st.booleans())
    items = [f'"{c}"' for c in codes] if quoted else codes
    text = sep.join(items)
    return draw(st.sampled_from(["{}", "[{}]", "EAN {}", "Códigos: {}.", "ean={}", "{} (sin stock)"])).format(text)


@given(ean_lists(), FILLER, FILLER)
@PROPERTY
def test_barcodes_alone_or_in_lists_are_not_cards(codes, before, after):
    text = f"{before} {codes} {after}"
    assert find_cards(text) == [], text
    assert find_secrets(text) == [], text


DATETIMES = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 12, 31))
EPOCH_DATETIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2038, 12, 31))
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%Y%m%d", "%d-%m-%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%fZ",
                "%Y%m%d%H%M%S", "%Y%m%d%H%M%S%f", "%Y%m%dT%H%M%S", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M:%S.%f"]


@st.composite
def not_secrets(draw):
    kind = draw(st.sampled_from(["date", "epoch", "uuid", "ean"]))
    if kind == "date":
        return draw(DATETIMES).strftime(draw(st.sampled_from(DATE_FORMATS)))
    if kind == "epoch":
        # Log timestamps of this era: from mid-2040 microsecond epochs (2.2e15) enter the
        # Mastercard 2-series range and nanosecond ones Mir's; a digit string cannot tell.
        ts = draw(EPOCH_DATETIMES).replace(tzinfo=timezone.utc).timestamp()
        scale = draw(st.sampled_from([1, 1_000, 1_000_000, 1_000_000_000]))  # s, ms, µs, ns
        return str(int(ts * scale))
    if kind == "uuid":
        u = draw(st.uuids())
        return draw(st.sampled_from([str(u), str(u).upper(), u.hex, "{" + str(u) + "}"]))
    return draw(EAN)


@given(st.lists(st.tuples(not_secrets(), FILLER), min_size=1, max_size=10),
       st.sampled_from([" ", ", ", "; ", " | ", "\n", " y ", "\t", "-", "/"]))
@PROPERTY
def test_dates_timestamps_uuids_and_barcodes_are_not_found(parts, sep):
    text = sep.join(f"{token}{sep}{words}" if words.strip() else token for token, words in parts)
    assert find_secrets(text) == [], text


@pytest.mark.parametrize("text", [
    "Coincidencia por código de barras: EAN 7791234567893 corresponde al SKU BEB-GAS-000123 (confianza 93 %)",
    "EAN 4006381333931 4006381333948 4006381333955",   # EAN-13 with a Visa-like prefix, in a list
    "EANs: 96385074, 40170725, 12345670",
    "Precio de proveedor 1234a678-b123-4123-a123-12345c123456 marcado vigente desde 2024-01-15 10:30:00 UTC",
    "Lote 3 procesado: 50 productos en 1234 ms; job maxiconsumo-20240115",
    "ts=20240115103000 epoch_us=1718000000000000 epoch_ns=1718000000000000000",
    "hash ab4111111111111111cd (a digit run inside a hex word)",
    "Página 3 descargada de https://www.maxiconsumo.com/sucursal_necochea/bebidas?p=3 en 1234 ms",
    "password=*** password=«redacted» password=<redacted>",
    "4111 1111 1111 1112",                              # fails Luhn
    "1234 5678 9012 3452",                              # no network's prefix
    "sk_short y sb_publishable_abcdefghijklmnopqrst",   # publishable keys are public
])
def test_known_non_secrets(text):
    assert find_secrets(text) == [], find_secrets(text)


@pytest.mark.parametrize("text,label", [
    ("pago con 4111 1111 1111 1111", "[card ****-1111 visa]"),
    ("amex 3782-822463-10005", "[card ****-0005 amex]"),
    ("diners 3056 930902 5904", "[card ****-5904 diners]"),
    ("mc 5555555555554444 cvv 123", "[card ****-4444 mastercard]"),
    ("mc2 2223003122003222", "[card ****-3222 mastercard]"),
    ("discover 6011111111111117", "[card ****-1117 discover]"),
    ("jcb 3530111333300000", "[card ****-0000 jcb]"),
    ("up 6200000000000005", "[card ****-0005 unionpay]"),
    ("key sb_secret_abcdefghijklmnop", "sb_secret_…(key)"),
    ("stripe sk_live_abcdefghijklmnop1234", "sk_live_…(key)"),
    ("DB_PASSWORD=hunter2hunter2", "PASSWORD=…(redacted)"),
    ('{"password": "s3cr3t!"}', "password=…(redacted)"),
    ("contraseña: Necochea2024", "contraseña=…(redacted)"),
    ("postgresql://ops:S3cret@db.example:5432/postgres", "postgresql://…:…(redacted)@"),
])
def test_known_secrets(text, label):
    (d,) = find_secrets(text)
    assert d.label == label
    assert text[d.start:d.end] not in excerpt(text)


ROLES = ["anon", "service_role", "authenticated"]


@st.composite
def jwts(draw):
    role = draw(st.sampled_from(ROLES))
    claims = {"role": role, "iss": "supabase", "ref": draw(st.text(string.ascii_lowercase, min_size=8, max_size=20)),
              "exp": draw(st.integers(1_700_000_000, 2_100_000_000))}
    key = draw(st.binary(min_size=32, max_size=48))
    return role, pyjwt.encode(claims, key, algorithm="HS256")


@given(embedded(jwts()))
@FEWER
def test_jwts_are_found_with_their_role_and_never_shown(case):
    (role, token), text, start = case
    found = [d for d in find_secrets(text) if d.kind == "jwt"]
    assert [d.start for d in found] == [start]
    assert found[0].label == f"eyJ…(jwt, role={role})"
    _, payload, signature = token.split(".")
    for shown in (mask_secrets(text), excerpt(text)):
        assert payload not in shown and signature not in shown and token not in shown
    assert re.search(SQL_PATTERNS["token"], text)


URLSAFE = string.ascii_letters + string.digits + "_-"


@FEWER
@given(st.sampled_from(["sb_secret_", "sk_live_", "sk_test_"]), st.text(URLSAFE, min_size=16, max_size=60),
       FILLER, FILLER)
def test_key_shaped_tokens_are_found(prefix, body, before, after):
    text = f"{before} {prefix}{body} {after}"
    found = [d for d in find_secrets(text) if d.kind == "key"]
    assert found and found[0].label == f"{prefix}…(key)"
    assert mask_secrets(text) == f"{before} {prefix}…(key) {after}"
    assert re.search(SQL_PATTERNS["token"], text)


@FEWER
@given(st.sampled_from(["password", "PASSWORD", "Password", "passwd", "pwd", "contraseña"]),
       st.sampled_from(["=", ": ", " = ", '": "', "':'"]),
       st.text(string.ascii_letters + string.digits + "!#$%()*+./?@[]^_{|}~", min_size=7, max_size=30),
       FILLER)
def test_password_assignments_are_found(key, sep, value, before):
    value += "7"
    text = f"{before} {key}{sep}{value} fin"
    found = [d for d in find_secrets(text) if d.kind == "password"]
    assert found, text
    assume(value not in before)
    assert value not in mask_secrets(text)
    assert re.search(SQL_PATTERNS["password"], text, re.I)


@FEWER
@given(embedded(cards()))
def test_redactor_never_lets_a_card_through(case):
    (network, number, printed), text, _ = case
    redact = Redactor()
    out = redact(text)
    assert number not in re.sub(r"[ -]", "", out) and printed not in out
    row = mask_row({"mensaje": text, "id": 1}, redact)
    assert printed not in row["mensaje"]


def test_luhn():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert not luhn_ok("") and not luhn_ok("41111111a1111111") and not luhn_ok("４１１１")


def test_excerpt_masks_emails_and_ips_around_the_secret():
    text = "login de ana.perez@example.com desde 190.12.34.56 con password=Hunter2024 rechazado"
    ex = excerpt(text)
    assert "ana.perez" not in ex and "190.12.34.56" not in ex and "Hunter2024" not in ex
    assert "a***@e***" in ex and "190.12.x.x" in ex and "password=…(redacted)" in ex


# -- the SQL prefilter: PostgreSQL reads the patterns as Python does -----------------------
PREFILTER_EXAMPLES = [
    "pago con 4111 1111 1111 1111 ok", "amex 3782-822463-10005", "4111111111111111", "x4111111111111111",
    "EAN 7791234567893, 7790000000001", "2024-01-15 10:30:00", "1234a678-b123-4123-a123-12345c123456",
    "Bearer eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.abcdef", "sb_secret_abcdefghijkl", "sk_live_abcdefghijklmn",
    "PASSWORD = x", 'contraseña: "y"', "postgres://u:p@h/db", "https://www.maxiconsumo.com/a?p=3", "ñandú 12345678901234",
    "a 12345678901234567890 b",
]


def test_prefilter_patterns_mean_the_same_in_postgresql(sandbox):
    with psycopg.connect(sandbox.admin_url(), autocommit=True) as conn:
        for text in PREFILTER_EXAMPLES:
            for name, pattern in SQL_PATTERNS.items():
                op = "~*" if name in CASE_INSENSITIVE else "~"
                in_pg = conn.execute(f"SELECT %s {op} %s", (text, pattern)).fetchone()[0]
                in_py = bool(re.search(pattern, text, re.I if name in CASE_INSENSITIVE else 0))
                assert in_pg == in_py, (name, text)
