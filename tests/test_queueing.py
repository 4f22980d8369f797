"""Coalesced queue broadcasts: a long queue, or one many consoles watch, is gathered for longer,
up to two seconds."""

import pytest
from asgiref.sync import sync_to_async

from chat import events, queueing
from tests import factories
from tests.support.ws import advisor_on_shift, queued_visitor


def test_a_long_or_much_watched_queue_is_sent_less_often() -> None:
    queueing._last_fanout.pop(999_001, None)
    assert queueing.delay(999_001) == pytest.approx(0.15)
    queueing._last_fanout[999_001] = (100, 0)
    assert queueing.delay(999_001) == pytest.approx(0.45)
    queueing._last_fanout[999_001] = (100, 400)
    assert queueing.delay(999_001) == pytest.approx(0.85)
    queueing._last_fanout[999_001] = (5000, 0)
    assert queueing.delay(999_001) == pytest.approx(2.0)
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
