"""An HTTP request's SQLite connection keeps a small page cache, whatever it reads, so that what
a request can leave behind in the memory of the thread it ran in does not grow with the
database (config/connections.py); a connection made anywhere else (the sockets' database thread)
keeps SQLite's default. Through the real ASGI application, where each request runs in a thread of
its own."""

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from django.db import connection, connections
from django.db.backends.signals import connection_created

from config.asgi import application
from config.connections import REQUEST_PAGE_CACHE_KIB

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "page-cache-test-token"
SQLITE_DEFAULT_KIB = 2000


@pytest.fixture(autouse=True)
def _sqlite_only(settings: Any) -> Iterator[None]:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's page cache; PostgreSQL caches pages in its own server")
    settings.METRICS_TOKEN = TOKEN
    yield
    restore_default()


def restore_default() -> None:
    """The test database is in memory, its page cache shared by every connection to it: a
    request's setting holds for all of them until set back."""
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_DEFAULT_KIB}")


@pytest.fixture
def made() -> Iterator[list[tuple[str, int]]]:
    """Each connection made meanwhile: its thread and its page cache (KiB), as SQLite has it."""
    found: list[tuple[str, int]] = []

    def record(sender: Any, connection: Any, **kwargs: Any) -> None:
        if connection.vendor == "sqlite":
            size = connection.connection.execute("PRAGMA cache_size").fetchone()[0]
            found.append((threading.current_thread().name, -int(size)))

    connection_created.connect(record)
    yield found
    connection_created.disconnect(record)


async def get(path: str) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"localhost"), (b"authorization", f"Bearer {TOKEN}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(10)
    while (await communicator.receive_output(10)).get("more_body"):
        pass
    await communicator.wait(10)
    return int(start["status"])


async def test_a_request_reads_through_a_small_page_cache(made: list[tuple[str, int]]) -> None:
    for path in ("/metrics", "/healthz/ready", "/metrics"):
        assert await get(path) == 200
    assert len(made) == 3  # one connection for each request, each in the request's own thread
    assert len({thread for thread, _ in made}) == 3
    assert all(size == REQUEST_PAGE_CACHE_KIB for _, size in made), made


async def test_connections_outside_requests_keep_sqlites_page_cache(made: list[tuple[str, int]]) -> None:
    def page_cache_kib() -> int:
        with connections["default"].cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            return -int(cursor.fetchone()[0])

    # The sockets' database thread (Channels'), and a thread of another kind's first connection.
    assert await database_sync_to_async(page_cache_kib)() == SQLITE_DEFAULT_KIB
    other = threading.Thread(target=page_cache_kib, name="not-a-request")
    other.start()
    other.join()
    assert ("not-a-request", SQLITE_DEFAULT_KIB) in made
    assert all(size == SQLITE_DEFAULT_KIB for _, size in made), made
    # A request after them still has its own.
    assert await get("/metrics") == 200
    assert made[-1][1] == REQUEST_PAGE_CACHE_KIB
