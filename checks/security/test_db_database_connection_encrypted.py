import ipaddress

import pytest

from minimarket_ops.vocabulary import Severity

# libpq's sslmode values that verify the server's certificate chain and its host name.
VERIFIED = "verify-full"


def _is_local(host: str | None, hostaddr: str | None) -> bool:
    if not host or host.startswith("/") or host == "localhost":
        return True  # a Unix socket, or libpq's default local connection
    for value in (hostaddr, host):
        try:
            if value and ipaddress.ip_address(value).is_loopback:
                return True
        except ValueError:
            continue
    return False


@pytest.mark.daily
@pytest.mark.severity("alta")
def test_database_connection_encrypted(db, settings, finding):
    """This run's own database connection is TLS-encrypted and verifies the server (client side)."""
    with db.transaction() as conn:
        # Read on the client: through a pooler, pg_stat_ssl shows the pooler's link, not ours.
        encrypted = bool(conn.pgconn.ssl_in_use)
        host, hostaddr = conn.info.host, conn.info.hostaddr
        options = {o.keyword.decode(): (o.val.decode() if o.val is not None else None) for o in conn.pgconn.info}
    sslmode = options.get("sslmode") or "prefer"
    if _is_local(host, hostaddr) and settings.security.loopback_is_local:
        pytest.skip(f"loopback target ({host}): the connection does not leave this machine "
                    "(security.loopback_is_local)")
    threshold = f"TLS with sslmode={VERIFIED}"
    measured = "encryption of this run's database connection (client side)"
    row = {"host": host, "encrypted": encrypted, "sslmode": sslmode}
    if not encrypted:
        finding.fail(
            measured=measured, value=f"not encrypted (sslmode={sslmode})", threshold=threshold, rows=[row],
            remediation="Connect with sslmode=verify-full and the provider's CA (Supabase: Settings > Database > "
                        "SSL certificate) in DATABASE_URL; enforce SSL on the server side too",
            runbook="7.1",
        )
    if sslmode != VERIFIED:
        finding.fail(
            measured=measured, value=f"encrypted, server not verified (sslmode={sslmode})", threshold=threshold,
            rows=[row], level=Severity.media,
            remediation="Use sslmode=verify-full with sslrootcert=<the provider's CA> in DATABASE_URL: "
                        f"sslmode={sslmode} encrypts but accepts any server (a man in the middle)",
            runbook="7.1",
        )
    finding.record(measured=measured, value=f"encrypted, sslmode={sslmode}", threshold=threshold, ok=True)
