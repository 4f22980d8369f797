"""A server answering HTTP requests keeps no database connection per request: each request runs in
a thread of its own, and what it opened is closed when it ends (SQLite's files counted here)."""

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.live import LiveServer, embedded_server

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
