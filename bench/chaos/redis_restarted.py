# Polling loops here are bounded by deadlines and watch other processes, not events of our own.
# ruff: noqa: ASYNC110
"""(b) The private Redis killed and started again mid-chat."""

import asyncio
import time
from typing import Any

import redis

from bench.chaos.chatting import chatting
from bench.chaos.peers import Run
from bench.chaos.stack import Stack, Template, stack


def heartbeat_keys(servers: Stack) -> int:
    """How many daphne processes have their presence heartbeat in the (private) Redis."""
    client = redis.Redis(host="127.0.0.1", port=servers.redis_port, socket_timeout=2)
    try:
        return len(client.keys("*chat:process:*"))
    finally:
        client.close()


async def scenario_redis_restarted(template: Template, down: float = 11.0) -> dict[str, Any]:
    """(b) The private Redis killed and started again on the same port mid-chat: the channel layer
    loses what was published meanwhile; the database and the clients' seq numbers make it good.
    Down for 11 s, so that it spans a presence heartbeat (every 10 s) of each process; the
    heartbeats must come back too, or their visitors would later be taken for gone."""
    with stack(template, "redis") as servers:
        a, b = servers.daphne(2)

        async def fault(run: Run) -> dict[str, Any]:
            assert servers.redis is not None
            servers.redis.kill()
            await asyncio.sleep(down)
            await asyncio.to_thread(servers.start_redis)
            return {"redis_down_ms": round((time.time() - run.fault_at) * 1000)}

        result = await chatting(
            servers,
            template,
            chats=6,
            advisors=2,
            visitor_ports=lambda n: [a.port if n % 2 else b.port],
            advisor_ports=lambda n: [b.port if n % 2 else a.port],
            fault=fault,
        )
        # The heartbeat is written every 10 s; allow two rounds.
        deadline = time.monotonic() + 25
        while heartbeat_keys(servers) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        result["process_heartbeats_back"] = heartbeat_keys(servers)
        if result["process_heartbeats_back"] < 2:
            result["failures"].append("a daphne process stopped writing its presence heartbeat")
            result["passed"] = False
        return result
