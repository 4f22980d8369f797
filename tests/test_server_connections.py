"""A server answering HTTP requests keeps no database connection per request: each request runs in
a thread of its own, and what it opened is closed when it ends (SQLite's files counted here)."""

import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import psutil
import pytest
from django.db import connection

from harness import servers
from tests.support.live import LiveServer, embedded_server, free_port

TOKEN = "connections-test-token"
ONE_CONNECTION = 3  # files an open SQLite connection holds
# Each of these reads the database.
READING = ("/healthz/ready", "/metrics")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = embedded_server(
        tmp_path_factory.mktemp("connections"), env={"METRICS_TOKEN": TOKEN, "HEALTH_READY_CACHE_SECONDS": "0"}
    )
    live.start()
    yield live
    live.stop()


def database_files(server: LiveServer) -> int:
    assert server.process is not None
    database = server.env["SQLITE_PATH"]
    return sum(1 for opened in psutil.Process(server.process.pid).open_files() if opened.path.startswith(database))


def test_repeated_requests_leave_no_database_connection_open(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        for path in (*READING, "/chat/"):
            assert client.get(path).status_code == 200
        before = database_files(server)
        for _ in range(40):
            for path in READING:
                assert client.get(path).status_code == 200
        # The last request's connection is closed just after its response is sent.
        deadline = time.monotonic() + 5
        while (after := database_files(server)) > before + ONE_CONNECTION and time.monotonic() < deadline:
            time.sleep(0.1)
    # Each connection holds the database file, its write-ahead log and its shared-memory index: 80
    # requests that each kept theirs would add up to 240 (fewer when a collection happens to run).
    assert after <= before + ONE_CONNECTION, (before, after)


def test_the_request_after_many_still_reads_the_database(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        for _ in range(20):
            client.get("/metrics")
        body = client.get("/healthz/ready").json()
    assert body["checks"]["database"]["ok"] is True
    assert Path(server.env["SQLITE_PATH"]).exists()


@pytest.mark.scaled
@pytest.mark.django_db(transaction=True)
def test_repeated_requests_return_their_postgresql_connections(tmp_path: Path) -> None:
    """The scaled profile: each request's connection goes back to the pool when the request ends.
    With a pool of two, 80 requests that each kept theirs would wait out the pool's timeout from
    the third on; and the server holds no more connections than the pool allows."""
    port = free_port()
    env = {
        **os.environ,
        # The database pytest-django made for this run.
        "DATABASE_URL": urlparse(os.environ["DATABASE_URL"])
        ._replace(path="/" + connection.settings_dict["NAME"])
        .geturl(),
        "METRICS_TOKEN": TOKEN,
        "HEALTH_READY_CACHE_SECONDS": "0",
        "DB_POOL_MIN": "1",
        "DB_POOL_MAX": "2",
        # No Celery worker runs here: readiness would wait a second on each ping for one.
        "CELERY_TASK_ALWAYS_EAGER": "true",
    }
    server = servers.daphne("daphne", env=env, port=port, log=tmp_path / "daphne.log", wait=False)
    try:
        servers.wait_listening(server)
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        ) as client:
            slowest = 0.0
            for _ in range(40):
                started = time.monotonic()
                assert client.get("/metrics").status_code == 200
                slowest = max(slowest, time.monotonic() - started)
                assert client.get("/healthz/ready").json()["checks"]["database"]["ok"] is True
        # The server's own connections (this test's process has a pool of its own).
        database_port = urlparse(env["DATABASE_URL"]).port or 5432
        held = [
            c for c in psutil.Process(server.pid).net_connections("tcp") if c.raddr and c.raddr.port == database_port
        ]
    finally:
        servers.stop_all([server])
    assert slowest < 5, slowest  # none waited for the pool (10 s, then an error)
    assert len(held) <= 2, held
