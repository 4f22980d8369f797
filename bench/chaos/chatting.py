# Polling loops here are bounded by deadlines and watch other processes, not events of our own.
"""A scenario's chats: open them, talk, inject the fault, talk on, settle, and count lost,
duplicated and recovered against the database."""

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from bench.chaos.peers import Run, Tally
from bench.chaos.stack import Stack, Template


def figures(servers: Stack, run: Run, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Lost / duplicated / recovered, counted against the database."""
    tally = run.tally
    stored = Counter(
        row[0]
        for row in servers.sql(
            "SELECT client_msg_id FROM chat_message WHERE kind = 'text' AND client_msg_id IS NOT NULL"
        )
    )
    # Who must have every message: the visitor for the advisors' messages; for the visitor's,
    # whoever holds the chat at the end (their console replays the whole log).
    lost: list[str] = []
    delivered: list[str] = []
    for client_msg_id in set(stored) | set(tally.acked):
        chat = next(c for c in run.chats if c.key == tally.chat_of.get(client_msg_id, client_msg_id.rsplit("-", 1)[0]))
        recipient = chat.advisor.name if client_msg_id.rsplit("-", 1)[1].startswith("v") else chat.visitor.name
        if client_msg_id not in stored or tally.received[recipient][client_msg_id] == 0:
            lost.append(client_msg_id)
        else:
            delivered.append(client_msg_id)
    duplicated = sorted(
        {i for counts in tally.received.values() for i, n in counts.items() if n > 1}
        | {i for i, n in stored.items() if n > 1}
    )
    unanswered = sorted(i for p in run.peers if not p.stopped for i in p.unacked)
    abandoned = sorted(i for p in run.peers if p.stopped for i in p.unacked if i not in stored)
    recovery: dict[str, float | None] = {}
    recovered_both_ways: dict[str, bool] = {}
    affected = [c for c in run.chats if not run.affected or c.key in run.affected]
    for chat in affected:
        after = [
            (tally.first_received[i] - run.fault_at, i)
            for i, sent in tally.first_sent.items()
            if tally.chat_of[i] == chat.key and sent >= run.fault_at and i in tally.first_received
        ]
        recovery[chat.key] = round(min(after)[0] * 1000) if after else None
        directions = {i.rsplit("-", 1)[1][0] for _, i in after}
        recovered_both_ways[chat.key] = directions == {"v", "a"}
    times = [t for t in recovery.values() if t is not None]
    result = {
        "chats": len(run.chats),
        "chats_hit_by_the_fault": len(affected),
        "messages_sent": len(tally.first_sent),
        "messages_acknowledged": len(tally.acked),
        "messages_stored": sum(stored.values()),
        "messages_delivered": len(delivered),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "unanswered": len(unanswered),
        "abandoned_unsent": len(abandoned),
        "chats_recovered": sum(recovered_both_ways.values()),
        # From the fault to the first delivery of a message first sent after it, per chat hit.
        "recovery_ms": {
            "first": min(times) if times else None,
            "median": round(statistics.median(times)) if times else None,
            "worst": max(times) if len(times) == len(affected) else None,
        },
        "fault_ms": round((run.fault_end - run.fault_at) * 1000) if run.fault_end else 0,
        "reconnects": sum(tally.reconnects.values()),
        "client_errors": dict(tally.errors),
        "examples": {"lost": sorted(lost)[:5], "duplicated": duplicated[:5], "unanswered": unanswered[:5]},
        **(extra or {}),
    }
    failures = []
    if lost:
        failures.append(f"{len(lost)} lost")
    if duplicated:
        failures.append(f"{len(duplicated)} duplicated")
    if unanswered:
        failures.append(f"{len(unanswered)} never answered")
    if result["chats_recovered"] != len(affected):
        failures.append(f"{len(affected) - result['chats_recovered']} chats did not recover")
    result["failures"] = failures
    result["passed"] = not result["failures"]
    return result


async def chatting(servers: "Stack", template: "Template", **kwargs: Any) -> dict[str, Any]:
    """`_chatting`, with the servers' logs attached to whatever makes it fail."""
    try:
        return await _chatting(servers, template, **kwargs)
    except BaseException as exc:
        raise RuntimeError(f"{exc!r}\n{servers.logs()}") from exc


async def _chatting(
    servers: Stack,
    template: Template,
    *,
    chats: int,
    visitor_ports: Callable[[int], list[int]],
    advisor_ports: Callable[[int], list[int]],
    advisors: int,
    fault: Callable[[Run], Awaitable[dict[str, Any] | None]],
    before: float = 2.0,
    after: float = 5.0,
    prepare: Callable[[Run], Awaitable[None]] | None = None,
    fast_ping: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Opens the chats, talks for `before` seconds, injects the fault, talks `after` seconds more
    once the fault is over, settles and counts."""
    tally = Tally()
    run = Run(tally, fast_ping)
    extra: dict[str, Any] = {}
    try:
        consoles = [
            run.peer(f"advisor{n}", "/ws/console/", advisor_ports(n), template.cookies[n]) for n in range(advisors)
        ]
        for console in consoles:
            await console.start()
            await console.ok("availability.set", availability="on_shift")
        for n in range(chats):
            visitor = run.peer(f"visitor{n}", "/ws/visitor/", visitor_ports(n))
            await run.open_chat(f"c{n}", visitor, consoles[n % len(consoles)])
        if prepare is not None:
            await prepare(run)
        talking = [asyncio.create_task(run.talk(chat)) for chat in run.chats]
        await asyncio.sleep(before)
        run.fault_at = time.time()
        extra = (await fault(run)) or {}
        run.fault_end = time.time()
        await asyncio.sleep(after)
        run.talking = False
        await asyncio.wait_for(asyncio.gather(*talking), 5)
        await run.settle()
        return figures(servers, run, extra)
    finally:
        await run.close()
