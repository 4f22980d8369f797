# Polling loops here are bounded by deadlines and watch other processes, not events of our own.
"""(c) Every connection to the database terminated mid-chat."""

import asyncio
from typing import Any

from bench.chaos.chatting import chatting
from bench.chaos.peers import Run
from bench.chaos.stack import Template, stack


async def scenario_database_dropped(template: Template, chats: int = 6, after: float = 5.0) -> dict[str, Any]:
    """(c) Every connection to the chaos database terminated mid-chat (pg_terminate_backend from a
    separate connection); the pool replaces them and nothing acknowledged is lost."""
    with stack(template, "db") as servers:
        a, b = servers.daphne(2)

        async def fault(run: Run) -> dict[str, Any]:
            rows = await asyncio.to_thread(
                servers.sql,
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (servers.database,),
            )
            await asyncio.sleep(0.5)
            again = await asyncio.to_thread(
                servers.sql,
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (servers.database,),
            )
            return {"backends_terminated": rows[0][0] + again[0][0]}

        result = await chatting(
            servers,
            template,
            chats=chats,
            advisors=2,
            visitor_ports=lambda n: [a.port if n % 2 else b.port],
            advisor_ports=lambda n: [b.port if n % 2 else a.port],
            fault=fault,
            after=after,
        )
        result["server_processes_alive"] = sum(1 for p in (a, b) if p.process.poll() is None)
        if result["server_processes_alive"] != 2:
            result["failures"].append("a daphne process died")
            result["passed"] = False
        return result
