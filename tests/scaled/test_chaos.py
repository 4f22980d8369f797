"""Failure injection, the fast ones: the same scenarios as `make chaos` (bench/chaos.py), each on
its own database and its own redis-server with real daphne processes; each passes only with
nothing lost, nothing duplicated and every chat hit by the fault recovering.

`make chaos` runs all six with their figures; the daphne SIGKILL is also
test_multiprocess.py, the advisor's grace period at the consumer level test_presence.py.
"""

import asyncio

import pytest

from chat import presence

pytestmark = pytest.mark.scaled


def test_the_presence_heartbeat_outlives_a_redis_outage(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed write (Redis down) must not end the loop: without a heartbeat once Redis is back,
    the grace sweep takes every visitor of the process for gone."""
    calls: list[str] = []
    beating_again = asyncio.Event()

    def beat() -> None:
        calls.append("beat")
        if len(calls) == 1:
            raise ConnectionError("Redis is restarting")
        if len(calls) == 3:
            loop.call_soon_threadsafe(beating_again.set)

    monkeypatch.setattr(presence, "beat", beat)
    monkeypatch.setattr(presence, "HEARTBEAT_SECONDS", 0.01)

    loop = asyncio.new_event_loop()

    async def run() -> None:
        beating = asyncio.create_task(presence._beat_forever())
        try:
            await asyncio.wait_for(beating_again.wait(), 5)
        finally:
            beating.cancel()

    try:
        loop.run_until_complete(run())
    finally:
        loop.close()
    assert len(calls) >= 3
