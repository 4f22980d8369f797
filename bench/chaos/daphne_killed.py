# Polling loops here are bounded by deadlines and watch other processes, not events of our own.
"""(a) One of two daphne processes SIGKILLed mid-chat."""

from typing import Any

from bench.chaos.chatting import chatting
from bench.chaos.peers import Run
from bench.chaos.stack import Template, stack


async def scenario_daphne_killed(template: Template) -> dict[str, Any]:
    """(a) SIGKILL one of two daphne processes mid-chat; its clients reconnect to the other."""
    with stack(template, "kill") as servers:
        a, b = servers.daphne(2)

        async def fault(run: Run) -> dict[str, Any]:
            doomed = {p.name for p in run.peers if p.ports[0] == a.port}
            run.affected = {c.key for c in run.chats if {c.visitor.name, c.advisor.name} & doomed}
            in_flight = sum(len(p.unacked) for p in run.peers if p.name in doomed)
            a.kill()
            return {"sockets_on_killed_process": len(doomed), "unanswered_at_kill": in_flight}

        return await chatting(
            servers,
            template,
            chats=6,
            advisors=2,
            visitor_ports=lambda n: [a.port, b.port] if n % 2 == 0 else [b.port, a.port],
            advisor_ports=lambda n: [b.port, a.port] if n % 2 == 0 else [a.port, b.port],
            fault=fault,
        )
