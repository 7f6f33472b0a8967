import pytest

from tests.harness import SelfTestSandbox


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory) -> SelfTestSandbox:
    """One cluster for the session, with the healthy sandbox as a template database."""
    sb = SelfTestSandbox.start(tmp_path_factory.mktemp("sandbox"))
    yield sb
    sb.stop()


@pytest.fixture(scope="session")
def healthy_run(sandbox):
    """Every check of the suite, once, against the healthy sandbox."""
    return sandbox.run()
