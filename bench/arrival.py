"""What a visitor's arrival costs the server: hello, conversation.start and triage.submit, each
timed and its SQL statements counted, for N visitors in a row through the real ASGI application
(in process, embedded profile, a fresh SQLite file). Prints one JSON line.

    .venv/bin/python -m bench.arrival        # BENCH_ARRIVALS visitors (100)

Statements are counted on every database connection the process opens (Channels runs them on
its database thread). Times include the websocket round trip through Channels' test client, and
the coalesced queue broadcasts that the arrivals cause run meanwhile, as they would in daphne.
"""

import asyncio
import json
import os
import statistics
import time
from typing import Any

from bench.inprocess import embedded_django

STEPS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("hello", "hello", {}),
    ("start", "conversation.start", {}),
    ("triage", "triage.submit", {"answers": {"safe_to_talk": "yes", "in_danger": "no", "about": "myself", "help": []}}),
)


def main() -> None:
    embedded_django("arrival", CHAT_RATE_PER_SECOND="1000", CHAT_RATE_BURST="1000")
    from django.core.management import call_command
    from django.db.backends.signals import connection_created

    call_command("demo_setup", verbosity=0)
    statements = [0]

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements[0] += 1
        return execute(sql, params, many, context)

    def attach(sender: Any, connection: Any, **kwargs: Any) -> None:
        connection.execute_wrappers.append(count)

    connection_created.connect(attach, weak=False)
    print(json.dumps(asyncio.run(arrivals(int(os.environ.get("BENCH_ARRIVALS", "100")), statements))))  # noqa: T201


async def arrivals(n: int, statements: list[int]) -> dict[str, Any]:
    from channels.testing import WebsocketCommunicator
    from django.conf import settings

    from config.asgi import application

    origin = [(b"origin", settings.CHAT["WIDGET_ALLOWED_ORIGINS"][0].encode())]
    seconds: dict[str, list[float]] = {step: [] for step, _, _ in STEPS}
    counted: dict[str, list[int]] = {step: [] for step, _, _ in STEPS}
    sockets = []
    for _ in range(n):
        socket = WebsocketCommunicator(application, "/ws/visitor/", headers=origin)
        connected, _ = await socket.connect()
        assert connected
        for step, kind, fields in STEPS:
            before, started = statements[0], time.perf_counter()
            await socket.send_json_to({"type": kind, "id": step, **fields})
            while True:
                reply = await socket.receive_json_from(timeout=10)
                if reply.get("type") == "reply" and reply.get("id") == step:
                    break
            assert reply["ok"], reply
            seconds[step].append(time.perf_counter() - started)
            counted[step].append(statements[0] - before)
        sockets.append(socket)
    for socket in sockets:
        await socket.disconnect()
    return {
        "visitors": n,
        "ms_mean": {step: round(statistics.mean(v) * 1000, 2) for step, v in seconds.items()},
        "statements_mean": {step: round(statistics.mean(v), 1) for step, v in counted.items()},
    }


if __name__ == "__main__":
    main()
