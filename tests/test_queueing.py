"""Coalesced queue broadcasts: a long queue, or one many consoles watch, is gathered for longer,
up to two seconds."""

import pytest
from asgiref.sync import sync_to_async

from chat import events, queueing
from tests import factories
from tests.support.ws import advisor_on_shift, queued_visitor


def test_a_long_or_much_watched_queue_is_sent_less_often() -> None:
    visitors, staff = queueing.VISITORS, queueing.STAFF
    queueing._last_fanout.pop(999_001, None)
    assert queueing.delay(999_001, visitors) == queueing.delay(999_001, staff) == pytest.approx(0.15)
    queueing._last_fanout[999_001] = (100, 0)
    assert queueing.delay(999_001, visitors) == pytest.approx(0.45)
    assert queueing.delay(999_001, staff) == pytest.approx(0.15)
    # Many consoles slow the staff's snapshot, not the visitors' positions.
    queueing._last_fanout[999_001] = (100, 400)
    assert queueing.delay(999_001, visitors) == pytest.approx(0.45)
    assert queueing.delay(999_001, staff) == pytest.approx(0.95)
    queueing._last_fanout[999_001] = (5000, 5000)
    assert queueing.delay(999_001, visitors) == queueing.delay(999_001, staff) == pytest.approx(2.0)
    queueing._last_fanout.pop(999_001)


@pytest.mark.django_db(transaction=True)
async def test_the_consoles_watching_a_queue_are_counted_while_connected() -> None:
    queues = await sync_to_async(factories.queues)()
    general = events.queue_group("general")
    before = queueing._watchers[general]
    advisors = [await advisor_on_shift(await sync_to_async(factories.staff)()) for _ in range(3)]
    assert queueing._watchers[general] == before + 3
    visitor, _, _ = await queued_visitor()
    await advisors[0].expect("queue", length=1)
    assert queueing._last_fanout[queues["general"].pk][1] == before + 3
    for advisor in advisors:
        await advisor.close()
    await visitor.close()
    assert queueing._watchers[general] == before


@pytest.mark.django_db(transaction=True)
async def test_an_advisor_coming_on_shift_refreshes_the_waits_not_the_consoles_queue() -> None:
    await sync_to_async(factories.queues)()
    first = await advisor_on_shift(await sync_to_async(factories.staff)())
    visitor, _, conversation_id = await queued_visitor()
    await first.expect("queue", queue="general", length=1)
    before = await visitor.expect("status", state="queued", position=1)
    await visitor.drain(queueing.COALESCE_MAX_SECONDS)  # the queue's own broadcast, then quiet
    first.inbox.clear()
    visitor.inbox.clear()

    # A second advisor doubles the chats that can be held at once: the queued visitor's wait
    # halves; what the first console shows of the queue has not changed and is not sent again.
    second = await advisor_on_shift(await sync_to_async(factories.staff)())
    after = await visitor.expect("status", state="queued", position=1)
    assert after["estimated_wait_seconds"] < before["estimated_wait_seconds"]
    await first.drain(queueing.COALESCE_MAX_SECONDS)
    assert not [m for m in first.inbox if m.get("type") == "queue"]

    # A change of the queue itself still reaches every console serving it.
    await second.ok("queue.take_next")
    assert (await first.expect("queue", queue="general"))["length"] == 0
    for socket in (first, second, visitor):
        await socket.close()
    assert conversation_id


def test_changes_gathered_are_sent_once_each_part() -> None:
    calls: list[tuple[float, tuple[object, ...]]] = []

    class Loop:
        def call_later(self, delay: float, *args: object, **kwargs: object) -> None:
            calls.append((delay, args))

    loop = Loop()
    visitors, staff = queueing.VISITORS, queueing.STAFF
    queueing._pending.difference_update({(999_002, visitors), (999_002, staff)})
    queueing._schedule(loop, 999_002, (visitors,))  # type: ignore[arg-type]
    queueing._schedule(loop, 999_002, (visitors, staff))  # type: ignore[arg-type]
    queueing._schedule(loop, 999_002, (visitors,))  # type: ignore[arg-type]
    queueing._schedule(loop, 999_002, (visitors, staff))  # type: ignore[arg-type]
    assert [args[-1] for _, args in calls] == [visitors, staff]  # one send of each for four changes
    queueing._pending.difference_update({(999_002, visitors), (999_002, staff)})
