"""Shared fixtures. Integration tests run against the project's real MariaDB, in their own schema."""
from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.integration.search_fixtures"]

TEST_ENVIRONMENT = {
    # Tests never touch the demo schema: everything lives in `hellohome_test` (and `hellohome_test_*`)...
    "HH_DB_NAME": "hellohome_test",
    # ...and never the demo's indexes or consumer group (the stack's own indexer follows these too)
    "HH_INDEX_PREFIX": "test-", "HH_INDEXER_GROUP": "hellohome-indexer-test",
    # the stack's enricher would embed every test listing in the background; tests run their own
    "HH_ENRICHER_AUTOSTART": "false",
    # the background archiver would re-upload binlogs the backup tests remove on purpose
    "HH_BINLOG_ARCHIVER_AUTOSTART": "false",
    # scheduled DAGs would run in the background of every test; the DAG tests run them themselves
    "HH_AIRFLOW_DAGS_PAUSED": "true",
}
CALLERS_ENVIRONMENT = {name: os.environ.get(name) for name in TEST_ENVIRONMENT}
os.environ.update(TEST_ENVIRONMENT)

from hellohome.config import get_settings, reload_settings  # noqa: E402
from hellohome.db.engine import dispose_engines, get_engine  # noqa: E402
from hellohome.stack import services  # noqa: E402
from hellohome.stack.schemas import fresh_schema  # noqa: E402


@pytest.fixture(scope="session")
def stack():
    """Bring the local services up once; take them down afterwards if this session started them."""
    settings = reload_settings()
    already_up = all(s["healthy"] for s in services.status(settings))
    try:
        services.up(settings)
    except BaseException:
        if not already_up:  # a half-started stack must not outlive the session
            services.down(reload_settings())
        raise
    yield reload_settings()
    dispose_engines()
    if not already_up:
        services.down(get_settings())
    else:
        _back_to_the_callers_configuration()


def _back_to_the_callers_configuration() -> None:
    """A stack that was up before the tests runs its consumers and API in the caller's configuration
    again: tests restart services (tests/reliability), which then come back in the test one."""
    for name, value in CALLERS_ENVIRONMENT.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    settings = reload_settings()
    services.stop_project(settings)
    services.up(settings)


@pytest.fixture(scope="session")
def loaded_db(stack):
    """The test schema with both real datasets loaded once (read-only for the tests that use it)."""
    from hellohome.loaders.run import DATASETS, default_path, load_file

    fresh_schema(stack, stack.db_name)
    reports = {}
    for dataset, (_, defaults) in DATASETS.items():
        reports[dataset] = load_file(get_engine(stack, "app"), default_path(stack, dataset), dataset, defaults,
                                     batch_size=2000, rejects_dir=stack.stack_dir / "rejects-test", progress=False)
    return reports


@pytest.fixture
def scratch_db(stack):
    """An empty, migrated schema of its own, for tests that write bad data."""
    name = fresh_schema(stack, f"{stack.db_name}_scratch")
    return get_engine(stack, "app", name)


@pytest.fixture
def unused_tcp_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
