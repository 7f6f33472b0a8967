"""The database security checks, each against the healthy sandbox and its fault.

Every fault run selects all of the database security checks, so each test also shows that
its fault breaks exactly its own check among them.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from minimarket_ops.sandbox.cluster import Cluster
from minimarket_ops.sandbox.faults import security as planted
from tests.harness import REPO
from tests.test_config import error_lines, run_with_overlay

DB_CHECK_FILES = sorted(str(p.relative_to(REPO)) for p in (REPO / "checks" / "security").glob("test_db_*.py"))
DB_CHECKS = sorted(p.split("/test_db_")[-1].removesuffix(".py") for p in DB_CHECK_FILES)
ENCRYPTION = "database_connection_encrypted"
PASSING = sorted(set(DB_CHECKS) - {ENCRYPTION})


def test_every_database_security_check_is_here():
    assert DB_CHECKS == sorted([
        "anon_reaches_sensitive_tables", "database_connection_encrypted", "definer_callable_by_anon",
        "definer_search_path", "extensions_in_exposed_schemas", "failed_logins_by_ip", "inactive_staff_acting",
        "privileged_login_roles", "rls_on_exposed_tables", "rls_policies", "secrets_in_logs",
        "staff_without_role", "views_bypass_rls",
    ])


@pytest.mark.parametrize("check", PASSING)
def test_passes_on_healthy_sandbox(healthy_run, check):
    assert healthy_run.outcome(check) == "pass", healthy_run.checks[check]
    assert healthy_run.checks[check]["measurement"]["ok"] is True


def test_connection_encryption_is_not_judged_on_loopback_by_default(healthy_run):
    c = healthy_run.checks[ENCRYPTION]
    assert c["outcome"] == "not applicable", c
    assert "loopback target" in c["reason"] and "security.loopback_is_local" in c["reason"]


def run_db_checks(sandbox, fault: str, **kw):
    return sandbox.run(*DB_CHECK_FILES, faults=(fault,), **kw)


def only_failure(r, check: str) -> dict:
    others = {k: v for k, v in r.outcomes().items() if k != check and v not in ("pass", "not applicable")}
    assert not others, (others, r.output)
    assert r.outcome(check) == "fail", r.output
    return r.finding(check)


def _row(f: dict, **match) -> dict:
    for row in f["rows"]:
        if all(row.get(k) == v for k, v in match.items()):
            return row
    raise AssertionError(f"no row with {match} in {f['rows']}")


# (check, fault, value, rows_total, threshold, level, a row that must be in the sample)
FAULTS = [
    ("rls_on_exposed_tables", "rls_disabled", 1, 1, "0", "critica",
     {"table": "public.productos_faltantes", "reachable_by": "anon, authenticated",
      "privileges": "DELETE, INSERT, SELECT, UPDATE"}),
    ("rls_policies", "permissive_write_policy", 1, 1, "0 outside security.permissive_policy_allow", "alta",
     {"table": "public.api_requests", "policy": "api_requests_insert_any", "roles": "authenticated",
      "command": "INSERT", "problem": "WITH CHECK (true)"}),
    ("rls_policies", "rls_without_policy", 1, 1, "0 outside security.permissive_policy_allow", "media",
     {"table": "public.system_status", "problem": "RLS enabled, no policy"}),
    ("anon_reaches_sensitive_tables", "anon_reads_personal", 1, 1, "0", "critica",
     {"table": "public.personal", "rls": "on", "anon_policies": "personal_select_anon"}),
    ("definer_search_path", "definer_without_search_path", 1, 1, "0", "alta",
     {"function": "public.resumen_stock_bajo()", "owner": "postgres", "settings": ""}),
    ("definer_callable_by_anon", "definer_callable_by_anon", 1, 1, "0 outside security.definer_allow", "alta",
     {"function": "public.contar_personal_activo()", "executable_through": "PUBLIC, anon"}),
    ("views_bypass_rls", "view_without_security_invoker", 1, 1, "0", "alta",
     {"view": "public.vista_stock_resumen", "readable_by": "anon, authenticated"}),
    ("extensions_in_exposed_schemas", "extension_in_public", 1, 1, "0", "media",
     {"extension": "pg_trgm", "objects_in": "public"}),
    ("staff_without_role", "staff_without_role", 1, 1, "0", "media",
     {"rol": None, "nombre": "N*** S***", "email": "n***@m***.ar"}),
    ("inactive_staff_acting", "inactive_staff_acting", 1, 1, "0 in inactive_staff_window_days = 7", "alta",
     {"nombre": "R*** A***", "events": 1, "event_types": "UPDATE"}),
    ("failed_logins_by_ip", "failed_login_burst", 8, 1, "failed_logins_per_ip_max_count <= 5", "alta",
     {"ip_address": "203.0.x.x", "attempts": 8}),
]


@pytest.mark.parametrize("check,fault,value,rows_total,threshold,level,row", FAULTS, ids=[f[1] for f in FAULTS])
def test_fails_on_its_fault(sandbox, check, fault, value, rows_total, threshold, level, row):
    r = run_db_checks(sandbox, fault)
    f = only_failure(r, check)
    assert f["value"] == value and f["rows_total"] == rows_total, f
    assert f["threshold"] == threshold, f
    assert f["level"] == level, f
    _row(f, **row)
    assert r.exit_code == 1


def test_failed_logins_sample_counts_ips_and_masks_them(sandbox):
    r = run_db_checks(sandbox, "failed_login_burst")
    f = r.finding("failed_logins_by_ip")
    assert f["rows_total"] == 1 and "1 IPs above the limit" in f["measured"]
    assert planted.PLANTED_FAILED_LOGIN_IP not in r.output
    assert planted.PLANTED_FAILED_LOGIN_IP not in (r.report_dir / "results.json").read_text()


def test_failed_login_threshold_is_configurable(sandbox):
    r = sandbox.run("-k", "failed_logins_by_ip", faults=("failed_login_burst",),
                    thresholds={"failed_logins_per_ip_max_count": 8})
    assert r.outcome("failed_logins_by_ip") == "pass", r.output
    r = sandbox.run("-k", "failed_logins_by_ip", thresholds={"failed_logins_per_ip_max_count": 1,
                                                               "failed_logins_window_hours": 24 * 7})
    f = r.finding("failed_logins_by_ip")  # the seed has at most 2 attempts per IP in a week
    assert f["value"] == 2 and f["threshold"] == "failed_logins_per_ip_max_count <= 1"


def test_personal_data_masked_in_staff_findings(sandbox):
    r = run_db_checks(sandbox, "staff_without_role")
    row = r.finding("staff_without_role")["rows"][0]
    assert row["nombre"] == "N*** S***" and row["email"] == "n***@m***.ar"
    for plain in ("Nicolás Sosa", "nsosa@minimarket-necochea.com.ar"):
        assert plain not in r.output
        assert plain not in (r.report_dir / "results.json").read_text()


def test_privileged_login_role_fault(sandbox, healthy_run):
    # Roles are cluster-wide: the healthy run is taken first and the role dropped after.
    assert healthy_run.outcome("privileged_login_roles") == "pass"
    try:
        r = run_db_checks(sandbox, "privileged_login_role")
        f = only_failure(r, "privileged_login_roles")
        assert f["value"] == 1 and f["threshold"] == "0 outside security.login_role_allow" and f["level"] == "media"
        _row(f, role=planted.PRIVILEGED_ROLE, bypassrls=True, superuser=False, createrole=False)
        allowed = sandbox.run("-k", "privileged_login_roles", faults=("privileged_login_role",), overlay={
            "security": {"login_role_allow": ["postgres", "ops_monitor", planted.PRIVILEGED_ROLE]}})
        assert allowed.outcome("privileged_login_roles") == "pass", allowed.output
    finally:
        with psycopg.connect(sandbox.admin_url(), autocommit=True) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {planted.PRIVILEGED_ROLE}")


# -- secrets in logs -------------------------------------------------------------------------
def _planted_values() -> list[str]:
    jwt = planted.PLANTED_JWT
    header, payload, signature = jwt.split(".")
    card = planted.PLANTED_CARD
    return [jwt, payload, signature, card, card.replace(" ", ""), card.replace(" ", "-")]


def _everything_written(r) -> str:
    texts = [r.output]
    for p in Path(r.report_dir).rglob("*"):
        if p.is_file():
            texts.append(p.read_text(errors="replace"))
    return "\n".join(texts)


def test_secrets_in_logs_fault(sandbox):
    r = run_db_checks(sandbox, "secrets_in_logs")
    f = only_failure(r, "secrets_in_logs")
    assert f["value"] == 2 and f["rows_total"] == 2, f
    assert f["threshold"] == "0 in secrets_scan_window_days = 7" and f["level"] == "critica"
    card = _row(f, kinds="card", nivel="error", table="public.logs_scraping", column="mensaje")
    assert "[card ****-6467 visa]" in card["excerpt"] and card["id"] and card["timestamp"]
    jwt = _row(f, kinds="jwt", nivel="debug")
    assert "eyJ…(jwt, role=service_role)" in jwt["excerpt"]
    # No planted value anywhere: terminal output, results.json, HTML report, JUnit XML.
    written = _everything_written(r)
    for value in _planted_values():
        assert value not in written, value
    assert r.exit_code == 1


def test_secrets_scan_is_bounded_by_the_candidate_budget(sandbox):
    r = sandbox.run("-k", "secrets_in_logs", faults=("secrets_in_logs",),
                    thresholds={"secrets_scan_candidates_max_count": 1})
    f = r.finding("secrets_in_logs")
    assert f["value"] == 1  # the newest candidate only (the JWT, 2 h old)
    assert "the first 1 candidate rows were confirmed" in f["measured"]


def test_secrets_older_than_the_window_are_not_scanned(sandbox):
    old = ("INSERT INTO public.logs_scraping (job_id, nivel, mensaje, \"timestamp\") VALUES "
           f"('x', 'info', 'tarjeta {planted.PLANTED_CARD}', now() - interval '9 days')")
    r = sandbox.run("-k", "secrets_in_logs", setup_sql=old)
    assert r.outcome("secrets_in_logs") == "pass", r.output


def test_unknown_schema_map_key_in_security_is_a_config_error(tmp_path):
    r = run_with_overlay(tmp_path, {"security": {"sensitive_tables": ["personal", "clientes"]}})
    assert r.exit_code == 4, r.output
    (line,) = error_lines(r.output)
    assert line == "ERROR: configuration: security.sensitive_tables: 'clientes' is not a schema_map table"


# -- database connection encrypted ------------------------------------------------------
def test_unencrypted_loopback_fails_when_judged(sandbox):
    r = sandbox.run("-k", ENCRYPTION, overlay={"security": {"loopback_is_local": False}})
    assert r.outcome(ENCRYPTION) == "fail", r.output
    f = r.finding(ENCRYPTION)
    assert f["level"] == "alta" and f["value"] == "not encrypted (sslmode=prefer)"
    assert f["threshold"] == "TLS with sslmode=verify-full"
    assert f["rows"] == [{"host": "127.0.0.1", "encrypted": False, "sslmode": "prefer"}]


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory):
    """A second small cluster with ssl=on and a self-signed certificate for 127.0.0.1."""
    certs = tmp_path_factory.mktemp("tls")
    crt, key = certs / "server.crt", certs / "server.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(crt),
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    cluster = Cluster(secrets.token_urlsafe(18), settings={
        "ssl": "on", "ssl_cert_file": "'server.crt'", "ssl_key_file": "'server.key'"})
    try:
        cluster.init()
        for src in (crt, key):
            dst = cluster.data / src.name
            shutil.copy(src, dst)
            dst.chmod(0o600)
            if cluster._user is not None:
                os.chown(dst, cluster._user.pw_uid, cluster._user.pw_gid)
        cluster.start()
        yield cluster, crt
    finally:
        cluster.remove()


@pytest.mark.parametrize("params,outcome,level,value", [
    ("sslmode=require", "fail", "media", "encrypted, server not verified (sslmode=require)"),
    ("sslmode=verify-full&sslrootcert={crt}", "pass", None, None),
])
def test_tls_connection(sandbox, tls_cluster, params, outcome, level, value):
    cluster, crt = tls_cluster
    url = cluster.url("postgres") + "?" + params.format(crt=crt)
    r = sandbox.run("-k", ENCRYPTION, credentials={"database_url": url},
                    overlay={"security": {"loopback_is_local": False}})
    assert r.outcome(ENCRYPTION) == outcome, r.output
    if level:
        f = r.finding(ENCRYPTION)
        assert f["level"] == level and f["value"] == value
        assert f["rows"][0]["encrypted"] is True
    else:
        assert r.checks[ENCRYPTION]["measurement"]["value"] == "encrypted, sslmode=verify-full"
    assert cluster._password not in r.output


# -- the other branches of the catalog checks ------------------------------------------------
def test_anon_privilege_alone_is_not_a_finding(sandbox, healthy_run):
    # Supabase's default privileges give anon every privilege on personal; RLS without a policy
    # for anon is what protects it, and the healthy sandbox passes.
    with psycopg.connect(sandbox.admin_url(sandbox.database())) as conn:
        assert conn.execute("SELECT has_table_privilege('anon', 'public.personal', 'SELECT')").fetchone()[0]
    assert healthy_run.outcome("anon_reaches_sensitive_tables") == "pass"


def test_anon_reaches_a_sensitive_table_through_public_with_rls_off(sandbox):
    setup = """
        REVOKE ALL ON public.security_logs FROM anon;
        GRANT SELECT ON public.security_logs TO PUBLIC;
        ALTER TABLE public.security_logs DISABLE ROW LEVEL SECURITY;
    """
    r = sandbox.run("-k", "anon_reaches_sensitive_tables", setup_sql=setup)
    f = r.finding("anon_reaches_sensitive_tables")
    assert f["value"] == 1
    _row(f, table="public.security_logs", privileges="SELECT", granted_to="PUBLIC", rls="off", anon_policies=None)


def test_definer_executable_through_public_only(sandbox):
    setup = """
        CREATE FUNCTION public.ultimo_scraping() RETURNS timestamptz LANGUAGE sql STABLE SECURITY DEFINER
            SET search_path = public, pg_temp AS $$ SELECT max(fecha_inicio) FROM public.estadisticas_scraping $$;
        REVOKE EXECUTE ON FUNCTION public.ultimo_scraping() FROM anon;
    """
    r = sandbox.run("-k", "definer_callable_by_anon", setup_sql=setup)
    _row(r.finding("definer_callable_by_anon"), function="public.ultimo_scraping()", executable_through="PUBLIC")
    allowed = sandbox.run("-k", "definer_callable_by_anon", setup_sql=setup,
                          overlay={"security": {"definer_allow": ["public.ultimo_scraping()"]}})
    assert allowed.outcome("definer_callable_by_anon") == "pass", allowed.output
