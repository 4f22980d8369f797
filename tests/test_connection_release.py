"""A websocket connection the server has finished with is freed as soon as daphne forgets it,
not left in reference cycles for the garbage collector (config/connection_release.py).

The server is the product's launcher with the soak's census of its memory (bench/soak_diagnose.py)
and its collector switched off: a census then finds all the cyclic garbage made since the server
started, and what it collects is what a collection would have had to."""

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness.client import Client, open_socket
from harness.servers import HOST, spawn, stop_all, wait_listening
from tests.support.live import LiveServer, embedded_server

pytestmark = pytest.mark.live

SOCKETS = 12
# What each connection is made of on daphne's side: its protocol, its TCP transport, the HTTP
# channel and request it was upgraded from, autobahn's state of it, daphne's queue for it.
CONNECTION_TYPES = (
    "daphne.ws_protocol.WebSocketProtocol",
    "twisted.internet.tcp.Server",
    "twisted.web.http.HTTPChannel",
    "daphne.http_protocol.WebRequest",
    "autobahn.websocket.protocol.TrafficStats",
    "asyncio.queues.Queue",
)


async def chats(live: LiveServer) -> None:
    """Visitors saying hello, every other one starting a chat and ending it, each then leaving."""
    for n in range(SOCKETS):
        ws = await open_socket(f"{live.ws_url}/ws/visitor/", origin=live.url)
        visitor = Client(ws, lambda message: None)
        await visitor.request("hello")
        if n % 2 == 0:
            await visitor.request("conversation.start")
            await visitor.request("conversation.end")
        await ws.close()


def census(pid: int, folder: Path) -> dict[str, Any]:
    """Asks the server for a census (SIGUSR1) and reads it once written."""
    os.kill(pid, signal.SIGUSR1)
    path = folder / "census-00.json"
    deadline = time.monotonic() + 60
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.2)  # written: let it be closed
    return dict(json.loads(path.read_text()))


def test_closed_websockets_leave_nothing_for_the_collector(tmp_path: Path) -> None:
    folder = tmp_path / "census"
    live = embedded_server(tmp_path, env={"SOAK_DIAGNOSE": str(folder), "SOAK_DIAGNOSE_COLLECTOR": "off"})
    command = [sys.executable, "-m", "bench.soak_diagnose", "-b", HOST, "-p", str(live.port)]
    server = spawn("daphne", command, env=live.env, log=tmp_path / "daphne.log", port=live.port)
    try:
        wait_listening(server, timeout=60)
        asyncio.run(chats(live))
        # daphne forgets a finished connection on its next check, each second.
        time.sleep(2.5)
        found = census(server.pid, folder)
    finally:
        stop_all([server])
    garbage = found["garbage_types"]
    assert {name: garbage[name] for name in CONNECTION_TYPES if name in garbage} == {}, garbage
