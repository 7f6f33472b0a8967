"""No secret value appears in anything a run writes: known secrets are planted and searched for."""

import re
import subprocess
import sys

import psycopg
import pytest
from psycopg import sql

from minimarket_ops.masking import REDACTED, Redactor, mask_row
from minimarket_ops.sandbox.gateway import GatewayConfig, GatewayServer
from minimarket_ops.sandbox.runtime import mint_jwt
from tests.harness import REPO

PLANTED_DB_PASSWORD = "PLANTED-db-pass-4f1c9e"
PLANTED_JWT_SECRET = "PLANTED-jwt-secret-8d2b7a-with-enough-length"
PLANTED_API_SECRET = "PLANTED-api-secret-3e6f"


def _all_output(result) -> str:
    texts = [result.output]
    for path in result.report_dir.rglob("*"):
        if path.is_file():
            texts.append(path.read_text(errors="replace"))
    return "\n".join(texts)


def test_planted_secrets_never_appear_in_outputs(sandbox, tmp_path):
    dbname = sandbox.database(("orphan_products",))
    with psycopg.connect(sandbox.admin_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS planted_monitor"))
        conn.execute(sql.SQL("CREATE ROLE planted_monitor LOGIN BYPASSRLS PASSWORD {} IN ROLE ops_monitor").format(
            sql.Literal(PLANTED_DB_PASSWORD)))
    gw = GatewayServer(GatewayConfig(conninfo=sandbox.admin_url(dbname), jwt_secret=PLANTED_JWT_SECRET,
                                     api_secret=PLANTED_API_SECRET, faults=frozenset({"api_5xx"})))
    url = gw.start()
    try:
        creds = {
            "database_url": f"postgresql://planted_monitor:{PLANTED_DB_PASSWORD}@127.0.0.1:{sandbox.cluster.port}/{dbname}",
            "supabase_url": url,
            "anon_key": mint_jwt(PLANTED_JWT_SECRET, "anon"),
            "service_role_key": mint_jwt(PLANTED_JWT_SECRET, "service_role"),
            "user_jwt": mint_jwt(PLANTED_JWT_SECRET, "authenticated", sub="00000000-0000-0000-0000-000000000001"),
            "api_secret": PLANTED_API_SECRET,
        }
        results = [
            sandbox.run("-m", "daily or weekly or monthly", credentials=creds),  # failures: orphan products, API down
            sandbox.run("-m", "daily", credentials={**creds, "database_url": creds["database_url"].replace(
                str(sandbox.cluster.port), "1")}),  # unreachable: the error path
        ]
    finally:
        gw.stop()
        # Roles are cluster-wide: a leftover login role with BYPASSRLS fails privileged_login_roles later.
        with psycopg.connect(sandbox.admin_url(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS planted_monitor"))
    assert results[0].outcome("products_without_category") == "fail"
    assert results[0].outcome("api_health") == "fail"
    assert results[1].outcome("database_reachable") == "fail"
    planted = [PLANTED_DB_PASSWORD, PLANTED_JWT_SECRET, PLANTED_API_SECRET, *creds.values()]
    planted.remove(creds["supabase_url"])  # the URL's host is not a secret
    for r in results:
        text = _all_output(r)
        assert (r.report_dir / "report.html").exists() and (r.report_dir / "results.json").exists()
        for secret in planted:
            assert secret not in text, f"secret leaked into {r.report_dir}"
        assert not re.search(r"eyJ[A-Za-z0-9_-]{10,}\.", text), "a JWT-shaped string leaked"


def test_demo_writes_a_report_and_no_secret(tmp_path):
    rd = tmp_path / "demo"
    p = subprocess.run([sys.executable, "-m", "minimarket_ops.cli", "demo", "--scale", "0.1", "--report-dir", str(rd)],
                       cwd=REPO, capture_output=True, text=True, timeout=300,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert p.returncode == 0, p.stdout + p.stderr
    assert "report.html" in p.stdout and str(rd) in p.stdout
    html = (rd / "report.html").read_text()
    assert "database_reachable" in html
    everything = p.stdout + p.stderr + "".join(f.read_text(errors="replace") for f in rd.rglob("*") if f.is_file())
    assert not re.search(r"eyJ[A-Za-z0-9_-]{10,}\.", everything)
    assert not re.search(r"postgres(ql)?://[^:@/\s]+:[^@\s«]+@", everything)


def test_redactor_and_row_masking():
    r = Redactor(["postgresql://u:p%40ss-long@h/db", "sb_secret_abcdefghijkl"])
    text = r("failed for postgresql://u:p%40ss-long@h/db with key sb_secret_abcdefghijkl and password=hunter22")
    assert "p%40ss-long" not in text and "sb_secret_abc" not in text and "hunter22" not in text
    assert text.count(REDACTED) == 3
    assert r("token eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.c2lnbmF0dXJl here") == f"token {REDACTED} here"
    row = mask_row({"nombre": "Ana Pérez", "email": "ana@x.com", "api_key": "k", "sku": "SKU-1"}, r, True, ["nombre"])
    assert row == {"nombre": "A*** P***", "email": "a***@x***.com", "api_key": REDACTED, "sku": "SKU-1"}
    assert mask_row({"nombre": "Ana"}, r, False, ["nombre"]) == {"nombre": "Ana"}


def test_the_monitor_password_is_not_kept_in_the_statement_statistics(sandbox):
    """pg_stat_statements (track = all) keeps a statement's text, and the monitoring role
    reads it: the sandbox sets the password as a SCRAM verifier, never in clear."""
    with psycopg.connect(sandbox.admin_url(), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        texts = [r[0] for r in conn.execute("SELECT query FROM pg_stat_statements WHERE query ILIKE %s",
                                           ("%ALTER ROLE%",))]
        login = psycopg.connect(sandbox.credentials(())["database_url"], connect_timeout=5)
        login.close()
    assert texts, "the ALTER ROLE statement is in the statistics (so the test can see it)"
    assert not any(sandbox.secrets.monitor_password in t for t in texts)


@pytest.mark.parametrize("text", [
    "https://svc:S3cretPw-1@x.supabase.co/rest", "redis://:S3cretPw-1@cache:6379", "contraseña: S3cretPw-1",
    "sk_live_S3cretPw1abc", "card 4539 1488 0343 6467 declined",
])
def test_the_redactor_hides_every_shape_the_secrets_check_finds(text):
    out = Redactor()(text)
    assert REDACTED in out and "S3cretPw" not in out and "6467" not in out, out


def test_secrets_nested_in_json_values_are_redacted_in_samples():
    row = mask_row({"metadata": {"auth": "Bearer " + mint_jwt("k" * 32, "service_role"),
                                 "urls": ["postgresql://u:S3cretPw-1@h/db"]}}, Redactor())
    assert "S3cretPw" not in str(row) and "eyJ" not in str(row), row
