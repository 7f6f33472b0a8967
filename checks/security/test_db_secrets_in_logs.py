import pytest
from psycopg import sql

from minimarket_ops.secrets_detector import CASE_INSENSITIVE, SQL_PATTERNS, excerpt, find_secrets

# Text longer than this is confirmed on its head only (the SQL prefilter saw it whole).
CONFIRM_CHARS = 16_000


def _candidates_query(t, src) -> sql.Composed:
    cols = [t.col(c) for c in src.text_columns]
    ts, ident = t.col(src.time_column), t.col(src.id_column)
    level = sql.SQL("l.{}::text").format(t.col(src.level_column)) if src.level_column else sql.SQL("NULL::text")
    tests = []
    for c in cols:
        for name in SQL_PATTERNS:
            op = "~*" if name in CASE_INSENSITIVE else "~"
            tests.append(sql.SQL("l.{c}::text " + op + " {p}").format(c=c, p=sql.Placeholder(f"p_{name}")))
    texts = [sql.SQL("left(l.{c}::text, {n}) AS {alias}").format(c=c, n=sql.Literal(CONFIRM_CHARS),
                                                                   alias=sql.Identifier(f"text_{i}"))
             for i, c in enumerate(cols)]
    # The window comes first so the time index bounds the scan; newest first, LIMIT bounds the rest.
    return sql.SQL("""
        SELECT l.{ident}::text AS id, l.{ts} AS ts, {level} AS nivel, {texts}
          FROM {table} l
         WHERE l.{ts} > now() - make_interval(days => %(days)s)
           AND ({tests})
         ORDER BY l.{ts} DESC
         LIMIT %(budget)s
    """).format(
        ident=ident, ts=ts, level=level, texts=sql.SQL(", ").join(texts), table=t.ident,
        tests=sql.SQL(" OR ").join(tests),
    )


@pytest.mark.daily
@pytest.mark.severity("critica")
def test_secrets_in_logs(db, schema, settings, thresholds, finding):
    """No card number, JWT, secret key or password in the recent logs (runbook 7.1, errata 7)."""
    days = thresholds.secrets_scan_window_days
    budget = thresholds.secrets_scan_candidates_max_count
    params = {f"p_{k}": v for k, v in SQL_PATTERNS.items()}
    found, scanned, candidates, with_data = [], [], 0, 0
    for src in settings.security.log_sources:
        t = schema.table(src.table)
        scanned.append(f"{t.qualified}.{'/'.join(t.colname(c) for c in src.text_columns)}")
        has_rows = db.scalar(sql.SQL("SELECT EXISTS (SELECT 1 FROM {t} WHERE {ts} > now() - make_interval(days => %s))")
                             .format(t=t.ident, ts=t.col(src.time_column)), (days,))
        with_data += bool(has_rows)
        if not has_rows or candidates >= budget:
            continue
        left = budget - candidates
        rows = db.rows(_candidates_query(t, src), {**params, "days": days, "budget": left}, limit=left)
        candidates += len(rows)
        for r in rows:
            for i, c in enumerate(src.text_columns):
                text = r[f"text_{i}"] or ""
                detections = find_secrets(text)
                if not detections:
                    continue
                found.append({
                    "table": t.qualified, "column": t.colname(c), "id": r["id"], "timestamp": r["ts"],
                    "nivel": r["nivel"], "kinds": ", ".join(sorted({d.kind for d in detections})),
                    "excerpt": excerpt(text, detections),
                })
    if not with_data:
        pytest.skip(f"no log rows in the last {days} days to scan ({', '.join(scanned)})")
    threshold = f"0 in secrets_scan_window_days = {days}"
    measured = f"log rows of the last {days} days with a secret ({', '.join(scanned)})"
    if candidates >= budget:
        measured += f"; the first {budget} candidate rows were confirmed (secrets_scan_candidates_max_count): more may exist"
    if found:
        finding.fail(
            measured=measured, value=len(found), threshold=threshold, rows=found,
            remediation="Rotate every leaked credential first (a service-role JWT or sb_secret_ key means a new "
                        "key; a card number is a PCI incident), then delete or mask the rows and fix the code "
                        "that logs them (mask before logging)",
            runbook="7.1",
        )
    finding.record(measured=measured, value=0, threshold=threshold, ok=True)
