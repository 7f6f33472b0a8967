import json
import re

import pytest

from checks.security._api_probes import raise_if_rate_limited, reader_role, send

# What an error answer must not carry. Matched on the body's text values (JSON decoded).
LEAKS: dict[str, list[re.Pattern]] = {
    "stack trace": [
        re.compile(r"Traceback \(most recent call last\)"),
        re.compile(r'File "[^"\n]+", line \d+'),
        re.compile(r"^\s*at (?:async )?[\w$.<>\[\] ]*\(?(?:file://|https?://|/)[^)\s]+:\d+:\d+\)?", re.M),  # JS/Deno
    ],
    "SQL text": [
        re.compile(r"\bSELECT\b[^\n]{0,200}?\bFROM\b"),
        re.compile(r"\bINSERT\s+INTO\b|\bUPDATE\s+[\w.\"]+\s+SET\b|\bDELETE\s+FROM\b"),
        re.compile(r"syntax error at or near|relation \"[^\"]+\" does not exist|column \"[^\"]+\" does not exist"),
        re.compile(r"\bSQLSTATE\b|psycopg|PostgrestError|duplicate key value violates"),
    ],
    "file path": [
        re.compile(r"(?<![\w/])/(?:home|usr|var|opt|srv|app|root|tmp|etc|work|workspace|builds?)/[\w.@+-]+(?:/[\w.@+-]+)+"),
        # Any absolute path to a source file, wherever the code is deployed.
        re.compile(r"(?<![\w/:.])(?:/[\w.@+-]+){2,}\.(?:py|pyc|ts|tsx|js|mjs|cjs|rb|go|java|php|rs)\b"),
        re.compile(r"file:///[^\s\"')]+"),
        re.compile(r"\b[A-Za-z]:\\[\w .\\-]+"),
        re.compile(r"[\w./-]+\.(?:py|ts|js|mjs|tsx):\d+"),
    ],
}
EXCERPT_CHARS = 80


def _texts(body: str) -> str:
    """The body's string values, decoded (a JSON-escaped traceback reads as it would print)."""
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    out: list[str] = []

    def walk(v):
        if isinstance(v, dict):
            for k, x in v.items():
                out.append(str(k))
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif v is not None:
            out.append(str(v))

    walk(doc)
    return "\n".join(out)


def leaks(body: str) -> tuple[list[str], str]:
    """(kinds found, a short excerpt of the first match)."""
    text = _texts(body)
    kinds, excerpt = [], ""
    for kind, patterns in LEAKS.items():
        for p in patterns:
            m = p.search(text)
            if m:
                kinds.append(kind)
                excerpt = excerpt or m.group(0).strip()[:EXCERPT_CHARS]
                break
    return kinds, excerpt


@pytest.mark.weekly
@pytest.mark.severity("media")
def test_no_internals_in_errors(api, settings, finding):
    """Error answers (404, 405, 400 on a malformed id) carry no stack trace, SQL text or file path (runbook 7.1)."""
    cfg = settings.api_security
    reader = reader_role(api)
    probes = [p for p in cfg.error_probes if p.role == "none" or reader is not None]
    if not probes:
        pytest.skip(f"target {api.target_name} configures no user JWT or service role key for the error probes")
    answers = [send(api, p.name, p.method, p.path, role=reader if p.role == "reader" else "none") for p in probes]
    raise_if_rate_limited(answers)
    errors = [a for a in answers if a.status >= 400]
    rows = []
    for a in errors:
        kinds, excerpt = leaks(a.text)
        if kinds:
            rows.append({"probe": a.probe, "request": a.request, "status": a.status, "leaks": ", ".join(kinds),
                         "excerpt": excerpt})
    left_out = len(cfg.error_probes) - len(probes)
    measured = (f"error answers carrying internals, of {len(errors)} error answers to {len(answers)} probes"
                + (f" ({left_out} probe(s) needing a credential left out)" if left_out else ""))
    threshold = "no stack trace, SQL text or file path in an error answer"
    if not errors:
        pytest.skip(f"none of the {len(answers)} error probes got an error answer "
                    f"({', '.join(f'{a.request} -> {a.status}' for a in answers)}): nothing to judge")
    if rows:
        finding.fail(
            measured=measured,
            value=len(rows),
            threshold=threshold,
            rows=rows,
            remediation="Answer errors with the documented shape ({success:false, error:{code, message}}) and a "
            "fixed message; log the exception server-side only (function logs in the Supabase dashboard)",
            runbook="7.1",
        )
    finding.record(measured=measured, value=0, threshold=threshold, ok=True)
