"""Of many advisors accepting the same conversation at once, exactly one wins.

The first test drives the real ASGI application (every consumer in one event loop, so the
database calls of one process); the scaled tests race real OS threads, each with its own
PostgreSQL connection, so the row locks themselves decide.
"""

import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from agents.models import StaffProfile
from chat.errors import ProtocolError
from chat.models import Assignment, Conversation
from chat.services.handoff import conversation_accept, queue_take_next
from chat.services.kernel import StaffActor, staff_actor
from chat.services.visitor import conversation_start, triage_submit, visitor_create
from tests import factories
from tests.support.depth import depth
from tests.support.ws import advisor_on_shift, queued_visitor

pytestmark = pytest.mark.django_db(transaction=True)

ADVISORS = 20
ROUNDS = depth(50)


async def test_many_advisors_accepting_at_once_over_the_socket(setup_queues: None) -> None:
    users = [await sync_to_async(factories.staff)() for _ in range(ADVISORS)]
    advisors = [await advisor_on_shift(user) for user in users]
    order = list(range(ADVISORS))
    shuffle = random.Random(20240611).shuffle
    winners: dict[str, int] = {}

    for round_ in range(ROUNDS):
        visitor, _token, conversation_id = await queued_visitor()
        shuffle(order)  # a different advisor goes first on the wire each round
        for index in order:
            await advisors[index].send(
                {"type": "conversation.accept", "id": f"accept-{round_}-{index}", "conversation_id": conversation_id}
            )
        replies = [await advisors[index].expect("reply", timeout=20, id=f"accept-{round_}-{index}") for index in order]

        won = [index for index, reply in zip(order, replies, strict=True) if reply["ok"]]
        codes = Counter(reply["error"]["code"] for reply in replies if not reply["ok"])
        assert len(won) == 1, f"round {round_}: {len(won)} winners; errors {codes}"
        assert codes == Counter({"already_taken": ADVISORS - 1}), f"round {round_}: {codes}"
        winner = advisors[won[0]]
        (reply,) = [r for r in replies if r["ok"]]
        assert reply["result"]["conversation"]["conversation_id"] == conversation_id
        assert reply["result"]["conversation"]["holder"]["user_id"] == users[won[0]].pk
        winners[conversation_id] = users[won[0]].pk

        # Free the winner's capacity for the next round.
        ended = await winner.ok("conversation.end", conversation_id=conversation_id, outcome="other")
        assert ended["state"] == "closed"
        await visitor.close()
        for advisor in advisors:
            advisor.inbox.clear()  # queue snapshots and states this test does not look at

    holders = [
        (str(a.conversation_id), a.user_id)
        async for a in Assignment.objects.filter(role=Assignment.Role.HOLDER).order_by("pk")
    ]
    assert Counter(c for c, _ in holders) == Counter(dict.fromkeys(winners, 1))
    assert dict(holders) == winners
    for advisor in advisors:
        await advisor.close()


# --- Real concurrency at the database (PostgreSQL) ----------------------------------------------


TRIAGE: dict[str, str | list[str]] = {
    "safe_to_talk": "yes",
    "in_danger": "no",
    "about": "myself",
    "help": ["emotional_support"],
}


def queue_conversation(n: int) -> UUID:
    visitor, _token = visitor_create()
    conversation = conversation_start(visitor_id=visitor.pk, conn_id=f"race-visitor-{n}")
    triage_submit(visitor_id=visitor.pk, answers=TRIAGE)
    return conversation.pk


def on_shift_advisors(count: int, capacity: int) -> list[StaffActor]:
    users = [factories.staff(capacity=capacity) for _ in range(count)]
    StaffProfile.objects.filter(user__in=users).update(availability=StaffProfile.Availability.ON_SHIFT)
    return [staff_actor(user_id=user.pk) for user in users]


Outcome = tuple[str, Any]  # ("won", conversation id), ("error", code) or ("missing", None)


def race(
    actors: list[StaffActor],
    rounds: int,
    prepare: Callable[[int], None],
    attempt: Callable[[StaffActor, int], Conversation],
) -> list[list[Outcome]]:
    """Each actor on its own thread with its own database connection. Every round, once all
    threads wait at the barrier, one of them runs `prepare(round)` (the barrier's action), then
    all are released together to call `attempt(actor, round)`. Returns the outcomes, per round,
    per actor."""
    next_round = iter(range(rounds))
    barrier = threading.Barrier(len(actors), action=lambda: prepare(next(next_round)), timeout=60)
    outcomes: list[list[Outcome]] = [[("missing", None)] * len(actors) for _ in range(rounds)]
    crashes: list[BaseException] = []

    def worker(slot: int, actor: StaffActor) -> None:
        try:
            connection.ensure_connection()  # open it now, not after the barrier
            for round_ in range(rounds):
                barrier.wait()
                try:
                    outcomes[round_][slot] = ("won", attempt(actor, round_).pk)
                except ProtocolError as exc:
                    outcomes[round_][slot] = ("error", exc.code)
        except BaseException as exc:
            crashes.append(exc)
            barrier.abort()
        finally:
            connection.close()

    # Give this thread's connection back: the racing threads may need the whole pool.
    connection.close()
    threads = [threading.Thread(target=worker, args=(slot, actor), daemon=True) for slot, actor in enumerate(actors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racing thread hung"
    assert not crashes, crashes
    return outcomes


@pytest.mark.scaled
def test_concurrent_accepts_from_threads_have_one_winner(setup_queues: None) -> None:
    # Capacity for every round, should one advisor win them all.
    actors = on_shift_advisors(ADVISORS, capacity=ROUNDS)
    conversations: list[UUID] = []

    outcomes = race(
        actors,
        ROUNDS,
        prepare=lambda round_: conversations.append(queue_conversation(round_)),
        attempt=lambda actor, round_: conversation_accept(actor=actor, conversation_id=conversations[round_]),
    )

    for round_, results in enumerate(outcomes):
        winners = [actors[slot].user_id for slot, (kind, _) in enumerate(results) if kind == "won"]
        errors = Counter(value for kind, value in results if kind == "error")
        assert len(winners) == 1, f"round {round_}: {len(winners)} winners; {results}"
        assert errors == Counter({"already_taken": ADVISORS - 1}), f"round {round_}: {results}"
        assert [value for kind, value in results if kind == "won"] == [conversations[round_]]
        conversation = Conversation.objects.get(pk=conversations[round_])
        assert conversation.state == Conversation.State.ACTIVE
        assert conversation.assigned_to_id == winners[0]
        holders = list(
            Assignment.objects.filter(conversation=conversation, role=Assignment.Role.HOLDER).values_list(
                "user_id", flat=True
            )
        )
        assert holders == winners, f"round {round_}: holder rows {holders}, winner {winners}"
    assert Assignment.objects.count() == ROUNDS


@pytest.mark.scaled
def test_concurrent_take_next_takes_each_conversation_once(setup_queues: None) -> None:
    rounds, queued = 10, 5
    actors = on_shift_advisors(ADVISORS, capacity=rounds)
    batches: list[list[UUID]] = []

    outcomes = race(
        actors,
        rounds,
        prepare=lambda round_: batches.append([queue_conversation(round_ * queued + n) for n in range(queued)]),
        attempt=lambda actor, _round: queue_take_next(actor=actor),
    )

    for round_, results in enumerate(outcomes):
        taken = Counter(value for kind, value in results if kind == "won")
        errors = Counter(value for kind, value in results if kind == "error")
        assert taken == Counter(dict.fromkeys(batches[round_], 1)), f"round {round_}: {results}"
        assert errors == Counter({"queue_empty": ADVISORS - queued}), f"round {round_}: {results}"
        for slot, (kind, conversation_id) in enumerate(results):
            if kind != "won":
                continue
            conversation = Conversation.objects.get(pk=conversation_id)
            assert conversation.state == Conversation.State.ACTIVE
            assert conversation.assigned_to_id == actors[slot].user_id
            holders = list(
                Assignment.objects.filter(conversation=conversation, role=Assignment.Role.HOLDER).values_list(
                    "user_id", flat=True
                )
            )
            assert holders == [actors[slot].user_id], f"round {round_}: holder rows {holders}"
    assert Assignment.objects.count() == rounds * queued
    assert not Conversation.objects.filter(state=Conversation.State.QUEUED).exists()
