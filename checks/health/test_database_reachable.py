import pytest


@pytest.mark.daily
@pytest.mark.critical
@pytest.mark.severity("critica")
def test_database_reachable(database_status, run_state, finding):
    """The target's database accepts a connection (runbook 1.1 step 2)."""
    if not database_status.configured:
        pytest.skip(f"target {run_state.target_name} configures no database")
    timeout = run_state.settings.database.connect_timeout_s
    if database_status.db is None:
        finding.fail(
            measured="database connection",
            value=f"unreachable: {database_status.error}",
            threshold=f"a connection within connect_timeout_s = {timeout}",
            remediation="Check the project's status page and the pooler host/port in DATABASE_URL; "
            "every other database check is not run until this passes",
            runbook="1.1 step 2, 3.1",
        )
    version = database_status.db.server_version_num
    finding.record(measured="database connection", value=f"server {version}", threshold=f"connect_timeout_s = {timeout}", ok=True)
