"""A visitor queued while nobody who could answer is on shift is told so (`staffed: false`, no
estimate), and hears when that changes, so the widget can offer other help and let them wait."""

import pytest
from asgiref.sync import sync_to_async

from chat.engine import queueing
from tests import factories
from tests.support.ws import advisor_on_shift, queued_visitor, visitor_socket


@pytest.mark.django_db(transaction=True)
async def test_queued_with_nobody_on_shift_then_someone_comes_and_goes() -> None:
    await sync_to_async(factories.queues)()
    visitor, token, conversation_id = await queued_visitor()
    status = await visitor.expect("status", state="queued", position=1)
    assert status["staffed"] is False
    assert status["estimated_wait_seconds"] is None

    advisor = await advisor_on_shift(await sync_to_async(factories.staff)())
    status = await visitor.expect("status", state="queued", staffed=True)
    assert status["estimated_wait_seconds"] is not None and status["estimated_wait_seconds"] > 0

    await advisor.ok("availability.set", availability="away")
    status = await visitor.expect("status", state="queued", staffed=False)
    assert status["estimated_wait_seconds"] is None

    # Coming back (a new socket, the same token) the hello's status says the same.
    await visitor.close()
    again = await visitor_socket().connect()
    hello = await again.ok("hello", token=token)
    assert hello["conversation_id"] == conversation_id
    assert hello["status"]["staffed"] is False and hello["status"]["estimated_wait_seconds"] is None
    await again.close()
    await advisor.close()


@pytest.mark.django_db(transaction=True)
async def test_staffed_is_only_said_while_queued() -> None:
    await sync_to_async(factories.queues)()
    advisor = await advisor_on_shift(await sync_to_async(factories.staff)())
    visitor, _, _ = await queued_visitor()
    assert (await visitor.expect("status", state="queued"))["staffed"] is True
    await visitor.drain(queueing.COALESCE_MAX_SECONDS)
    await advisor.ok("queue.take_next")
    active = await visitor.expect("status", state="active")
    assert active["staffed"] is None
    await visitor.close()
    await advisor.close()
