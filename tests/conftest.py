import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from pytest_django.fixtures import _set_suffix_to_test_databases

from tests import factories
from tests.support import pg_flush
from tests.support.live import LiveServer, embedded_server

if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
    pg_flush.install()

# A run started in the background by a shell script ignores SIGINT, and every server it starts would
# inherit that: the tests of a polite stop on SIGINT would then test nothing but a timeout.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# What starts a server or worker process of its own: tests that use one are marked `live`, and
# `make test-fast` leaves them out with the browser tests.
PROCESS_STARTERS = ("LiveServer", "embedded_server", "celery_worker")


def _mark_live(items: list[pytest.Item]) -> None:
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and any(hasattr(module, name) for name in PROCESS_STARTERS):
            item.add_marker(pytest.mark.live)


def _starts_embedded_server(item: pytest.Item) -> bool:
    """Whether the test starts an embedded server of its own, or uses the session's (`server`)."""
    if "scaled" in item.keywords:
        return False
    module = getattr(item, "module", None)
    return (module is not None and hasattr(module, "embedded_server")) or "server" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _mark_live(items)
    _place_scaled(config, items)


def _place_scaled(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Scaled tests run only in the scaled profile run (DATABASE_URL and REDIS_URL set, see the
    Makefile). In CI they must never be skipped: a missing service is a failure there."""
    scaled = bool(os.environ.get("DATABASE_URL")) and bool(os.environ.get("REDIS_URL"))
    if scaled:
        # A test that starts an embedded server of its own tests that profile, whatever this run's
        # database: the embedded run has it already.
        embedded = [item for item in items if _starts_embedded_server(item)]
        if embedded:
            config.hook.pytest_deselected(items=embedded)
            items[:] = [item for item in items if not _starts_embedded_server(item)]
        return
    if os.environ.get("CI") == "true" and os.environ.get("SCALED_REQUIRED", "1") == "1":
        # CI runs the scaled tests in the second, scaled run; deselect them here, never skip.
        selected = [item for item in items if "scaled" not in item.keywords]
        deselected = [item for item in items if "scaled" in item.keywords]
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected
        return
    skip = pytest.mark.skip(reason="scaled profile not configured (run `make test`, which sets it up)")
    for item in items:
        if "scaled" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _chat_settings(settings: object) -> None:
    # Fast, deterministic limits for tests; individual tests override what they exercise.
    settings.CHAT = {**settings.CHAT, "RATE_PER_SECOND": 200.0, "RATE_BURST": 400.0}  # type: ignore[attr-defined]
    settings.PASSWORD_HASHERS = ["tests.support.hashers.QuickPBKDF2PasswordHasher"]  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def django_db_modify_db_settings_xdist_suffix(request: pytest.FixtureRequest) -> None:
    """`make test-fast` runs on two processes (pytest-xdist). pytest-django names each one's test
    database after the database's file unless the engine is Django's own SQLite module; ours
    (config.db.sqlite3) is Django's with more, and its test database is in memory: one per process
    already, nothing to rename."""
    worker = getattr(request.config, "workerinput", {}).get("workerid")
    if worker and "sqlite" not in django_settings.DATABASES["default"]["ENGINE"]:
        _set_suffix_to_test_databases(suffix=worker)


@pytest.fixture(autouse=True)
def _fresh_reference_data() -> object:
    """Each test's database is rolled back or flushed after it, without signals: nothing cached
    from one test's rows may answer the next."""
    from chat import reference, selectors

    reference.clear()
    selectors.forget_recent_snapshots()
    yield
    reference.clear()
    selectors.forget_recent_snapshots()


@pytest.fixture(scope="session", autouse=True)
def _close_connection_pool(django_db_setup: None, django_db_blocker: object) -> object:
    """PostgreSQL: the pool, and connections left in sync_to_async worker threads, keep sessions
    open on the test database; end them before it is dropped."""
    yield
    from django.db import connection, connections

    for conn in connections.all():
        conn.close()
        close_pool = getattr(conn, "close_pool", None)
        if close_pool is not None:
            close_pool()
    if connection.vendor == "postgresql":
        import psycopg

        params = {**connection.get_connection_params(), "dbname": "postgres"}
        params.pop("cursor_factory", None)
        params.pop("context", None)
        params.pop("prepare_threshold", None)
        params.pop("server_side_binding", None)
        with psycopg.connect(**params, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [connection.settings_dict["NAME"]],
            )


@pytest.fixture(autouse=True)
def _signing_keys(settings: object, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Signing keys made by tests go to a temporary directory, never the checkout's own."""
    settings.SIGNING_KEY_DIR = str(tmp_path_factory.getbasetemp() / "signing-keys")  # type: ignore[attr-defined]


# --- shared fixtures ------------------------------------------------------------------------


@pytest.fixture
def setup_queues(db: None) -> None:
    """The standard queues (factories.queues) for a test that needs visitors placed."""
    factories.queues()


@pytest.fixture
def people(db: None) -> dict[str, Any]:
    """The queues, two advisors (`advisor`, `other`) and a `supervisor`."""
    factories.queues()
    return {"advisor": factories.staff(), "other": factories.staff(), "supervisor": factories.staff(role="supervisor")}


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One product on the embedded profile for the session, started (tests/support/live.py);
    a module that needs other settings starts its own under the same name."""
    server = embedded_server(tmp_path_factory.mktemp("live"))
    server.start()
    yield server
    server.stop()
