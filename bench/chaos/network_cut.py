# Polling loops here are bounded by deadlines and watch other processes, not events of our own.
# ruff: noqa: ASYNC110
"""(d) A visitor's and an advisor's network cut and restored."""

import asyncio
import time
from typing import Any

from bench.chaos.chatting import chatting
from bench.chaos.peers import Run
from bench.chaos.proxy import Proxy
from bench.chaos.stack import Template, stack


async def scenario_network_cut(template: Template, chats: int = 4, after: float = 5.0) -> dict[str, Any]:
    """(d) A visitor's and an advisor's network cut for 3 s and restored: their TCP connections
    go silent (no close frame, no reset); the clients notice by keepalive, reconnect once the
    network is back, and only then does the server learn that the old sockets are gone."""
    with stack(template, "net") as servers:
        (server,) = servers.daphne(1)
        visitor_proxy = await Proxy(server.port).start()
        advisor_proxy = await Proxy(server.port).start()
        proxies = [visitor_proxy, advisor_proxy]
        cut_peers = frozenset({"visitor0", "advisor0"})

        async def fault(run: Run) -> dict[str, Any]:
            run.affected = {c.key for c in run.chats if {c.visitor.name, c.advisor.name} & cut_peers}
            for proxy in proxies:
                proxy.cut()
            await asyncio.sleep(3.0)
            for proxy in proxies:
                proxy.restore()
            # The server finds out about the dead sockets only after the clients are back.
            deadline = time.monotonic() + 15
            cut = [p for p in run.peers if p.name in cut_peers]
            while time.monotonic() < deadline and not all(run.tally.reconnects[p.name] for p in cut):
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            reaped = sum(proxy.reap() for proxy in proxies)
            return {"clients_cut": sorted(cut_peers), "network_down_ms": 3000, "stale_connections_reset": reaped}

        try:
            result = await chatting(
                servers,
                template,
                chats=chats,
                advisors=2,
                visitor_ports=lambda n: [visitor_proxy.port if n == 0 else server.port],
                advisor_ports=lambda n: [advisor_proxy.port if n == 0 else server.port],
                fault=fault,
                fast_ping=cut_peers,
                after=after,
            )
        finally:
            for proxy in proxies:
                await proxy.close()
        states = servers.sql("SELECT state, count(*) FROM chat_conversation GROUP BY state")
        result["conversation_states"] = dict(states)
        if dict(states) != {"active": chats}:
            result["failures"].append(f"chats not all active with their advisor: {dict(states)}")
            result["passed"] = False
        return result
