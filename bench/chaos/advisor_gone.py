# Polling loops here are bounded by deadlines and watch other processes, not events of our own.
"""(e) An advisor gone past the grace period; another takes the chats."""

import asyncio
import time
from typing import Any

from bench.chaos.chatting import chatting
from bench.chaos.peers import Peer, Run
from bench.chaos.stack import Template, stack


async def scenario_advisor_gone(
    template: Template, grace: float = 3.0, chats: int = 4, after: float = 3.0
) -> dict[str, Any]:
    """(e) An advisor's connection resets and they do not come back: after ADVISOR_GRACE_SECONDS
    their chats go back to the head of the queue, another advisor takes them, and the visitors
    (who kept writing) lose nothing either way."""
    with stack(template, "grace") as servers:
        (server,) = servers.daphne(1, ADVISOR_GRACE_SECONDS=str(grace))
        spare: list[Peer] = []

        async def prepare(run: Run) -> None:
            # The one who will take over is signed in but not yet on shift, so the chats are
            # placed with advisor0 and advisor1 only.
            relief = run.peer("advisor2", "/ws/console/", [server.port], template.cookies[2])
            await relief.start()
            spare.append(relief)

        async def fault(run: Run) -> dict[str, Any]:
            gone = next(p for p in run.peers if p.name == "advisor0")
            relief = spare[0]
            mine = [c for c in run.chats if c.advisor is gone]
            run.affected = {c.key for c in mine}
            await gone.vanish()
            await relief.ok("availability.set", availability="on_shift")
            taken: list[float] = []
            deadline = time.monotonic() + grace + 20
            while len(taken) < len(mine) and time.monotonic() < deadline:
                reply = await relief.request("queue.take_next")
                if not reply["ok"]:
                    await asyncio.sleep(0.2)
                    continue
                conversation = reply["result"]["conversation"]["conversation_id"]
                chat = next(c for c in run.chats if c.conversation == conversation)
                relief.conversations.add(conversation)
                chat.advisor = relief
                taken.append(time.time() - run.fault_at)
            return {
                "grace_seconds": grace,
                "chats_of_gone_advisor": len(mine),
                "taken_over": len(taken),
                "requeued_and_taken_ms": [round(t * 1000) for t in taken],
            }

        result = await chatting(
            servers,
            template,
            chats=chats,
            advisors=2,
            visitor_ports=lambda n: [server.port],
            advisor_ports=lambda n: [server.port],
            fault=fault,
            prepare=prepare,
            after=after,
        )
        requeued = servers.sql(
            "SELECT count(*) FROM chat_message WHERE kind = 'event' AND event = 'requeued' AND public_seq IS NOT NULL"
        )[0][0]
        result["requeued_entries"] = requeued
        if result["taken_over"] != result["chats_of_gone_advisor"] or requeued != result["chats_of_gone_advisor"]:
            result["failures"].append("the gone advisor's chats were not all requeued and taken over")
            result["passed"] = False
        return result
