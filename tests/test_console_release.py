"""A console open for a whole shift keeps nothing of the chats it no longer has: however a chat
ends for it (closed by either side, quick exit, the grace sweep, the idle timeout, transferred
away, a supervisor leaving it), the socket leaves the conversation's group on the channel layer
and forgets its role and its sent counter there. Runs on both profiles (the scaled run puts the
Redis layer under the same tests)."""

import itertools
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from agents.services import staff_group
from chat.engine import events
from chat.models import Conversation
from chat.services.sweeps import grace_sweep, idle_close
from tests import factories
from tests.support.ws import ProtocolClient, advisor_on_shift, queued_visitor, staff_socket

pytestmark = pytest.mark.django_db(transaction=True)

_probes = itertools.count(1)


@pytest.fixture
def setup_queues(db: None) -> None:
    factories.queues()


async def make_staff(**kwargs: Any) -> Any:
    return await sync_to_async(factories.staff)(**kwargs)


async def in_group(console: ProtocolClient, conversation_id: str, user_id: int) -> bool:
    """Whether the console's socket is still in the conversation's staff group: a probe sent to
    that group comes back only if it is. A second probe to the staff member's own group follows
    it, so the answer does not depend on a timeout."""
    layer = get_channel_layer()
    assert layer is not None
    n = next(_probes)
    probe = {"type": "chat.staff_state", "state": {"type": "probe", "n": n}}
    await layer.group_send(events.conv_staff_group(conversation_id), probe)
    await layer.group_send(staff_group(user_id), {"type": "chat.staff_state", "state": {"type": "fence", "n": n}})
    await console.expect("fence", n=n)
    await console.drain(0.2)
    return any(m.get("type") == "probe" and m.get("n") == n for m in console.inbox)


async def assert_released(console: ProtocolClient, conversation_id: str, user_id: int) -> None:
    assert not await in_group(console, conversation_id, user_id)
    # No sent counter: a sync for it is refused as for a conversation the socket never had.
    assert await console.error("sync", conversation_id=conversation_id, last_seq=0) == "not_found"
    # No role: typing to its visitor is refused.
    assert await console.error("typing", conversation_id=conversation_id, active=True) == "not_holder"


async def taken_chat() -> tuple[Any, ProtocolClient, ProtocolClient, str]:
    advisor_user = await make_staff()
    advisor = await advisor_on_shift(advisor_user)
    visitor, _token, conversation_id = await queued_visitor()
    await advisor.ok("queue.take_next")
    await visitor.expect("entry", event="assigned")
    await advisor.expect("entry", event="assigned")
    assert await in_group(advisor, conversation_id, advisor_user.pk)  # the probe can tell
    return advisor_user, advisor, visitor, conversation_id


async def supervisor_monitoring(conversation_id: str) -> tuple[Any, ProtocolClient]:
    supervisor_user = await make_staff(role="supervisor")
    supervisor = await (await staff_socket(supervisor_user)).connect()
    await supervisor.ok("hello")
    await supervisor.ok("supervise.monitor", conversation_id=conversation_id)
    return supervisor_user, supervisor


async def visitor_ends(visitor: ProtocolClient, advisor: ProtocolClient, conversation_id: str) -> None:
    await visitor.ok("conversation.end")


async def visitor_quick_exit(visitor: ProtocolClient, advisor: ProtocolClient, conversation_id: str) -> None:
    await visitor.ok("quick_exit")


async def advisor_ends(visitor: ProtocolClient, advisor: ProtocolClient, conversation_id: str) -> None:
    await advisor.ok("conversation.end", conversation_id=conversation_id, outcome="emotional_support")


async def visitor_gone_past_grace(visitor: ProtocolClient, advisor: ProtocolClient, conversation_id: str) -> None:
    await visitor.close()
    await advisor.expect("conversation", conversation_id=conversation_id, visitor_connected=False)
    # Gone past the grace period (moved back in time rather than the sweep forward: the
    # advisor's own heartbeat would look stale too).
    away_since = timezone.now() - timedelta(seconds=float(settings.CHAT["VISITOR_GRACE_SECONDS"]) + 1)
    await sync_to_async(Conversation.objects.filter(pk=conversation_id).update)(visitor_away_since=away_since)
    assert (await sync_to_async(grace_sweep)())["closed"] == 1


async def idle_timeout(visitor: ProtocolClient, advisor: ProtocolClient, conversation_id: str) -> None:
    later = timezone.now() + timedelta(minutes=float(settings.CHAT["IDLE_CLOSE_MINUTES"]) + 1)
    assert await sync_to_async(idle_close)(now=later) == 1


ENDINGS: dict[str, Callable[[ProtocolClient, ProtocolClient, str], Awaitable[None]]] = {
    "visitor_ends": visitor_ends,
    "quick_exit": visitor_quick_exit,
    "advisor_ends": advisor_ends,
    "grace_sweep": visitor_gone_past_grace,
    "idle_timeout": idle_timeout,
}


@pytest.mark.parametrize("ending", ENDINGS)
async def test_a_closing_chat_leaves_nothing_on_the_console(setup_queues: None, ending: str) -> None:
    advisor_user, advisor, visitor, conversation_id = await taken_chat()
    await ENDINGS[ending](visitor, advisor, conversation_id)
    # The console still sees the chat end: the log up to the close, then the closed summary.
    await advisor.expect("entry", event="closed", conversation_id=conversation_id)
    summary = await advisor.expect("conversation", conversation_id=conversation_id, state="closed")
    assert summary["role"] == "holder"
    await assert_released(advisor, conversation_id, advisor_user.pk)
    # A console with many chats behind it still takes the next one and hears from it.
    visitor2, _token, second = await queued_visitor()
    await advisor.ok("queue.take_next")
    await visitor2.ok("message.send", client_msg_id="v-2", text="hello again")
    got = await advisor.expect("entry", conversation_id=second, sender_kind="visitor")
    assert got["text"] == "hello again"
    for client in (advisor, visitor, visitor2):
        await client.close()


async def test_a_chat_transferred_away_leaves_nothing_on_the_first_console(setup_queues: None) -> None:
    advisor_user, advisor, visitor, conversation_id = await taken_chat()
    other_user = await make_staff()
    other = await advisor_on_shift(other_user)
    offer = await advisor.ok(
        "transfer.offer", conversation_id=conversation_id, to_user_id=other_user.pk, note="Over to you."
    )
    await other.ok("transfer.respond", transfer_id=offer["transfer_id"], accept=True)
    left = await advisor.expect("conversation.left", conversation_id=conversation_id)
    assert left["reason"] == "transferred"
    await assert_released(advisor, conversation_id, advisor_user.pk)
    assert await in_group(other, conversation_id, other_user.pk)
    for client in (advisor, other, visitor):
        await client.close()


async def test_a_supervisor_who_stops_watching_keeps_nothing_of_the_chat(setup_queues: None) -> None:
    _advisor_user, advisor, visitor, conversation_id = await taken_chat()
    supervisor_user, supervisor = await supervisor_monitoring(conversation_id)
    assert await in_group(supervisor, conversation_id, supervisor_user.pk)
    await supervisor.ok("supervise.leave", conversation_id=conversation_id)
    assert not await in_group(supervisor, conversation_id, supervisor_user.pk)
    assert await supervisor.error("sync", conversation_id=conversation_id, last_seq=0) == "not_found"
    for client in (advisor, supervisor, visitor):
        await client.close()


async def test_a_monitored_chat_that_closes_leaves_nothing_on_the_supervisors_console(setup_queues: None) -> None:
    _advisor_user, advisor, visitor, conversation_id = await taken_chat()
    supervisor_user, supervisor = await supervisor_monitoring(conversation_id)
    await visitor.ok("conversation.end")
    await supervisor.expect("entry", event="closed", conversation_id=conversation_id)
    await supervisor.expect("conversation", conversation_id=conversation_id, state="closed", role="monitor")
    assert not await in_group(supervisor, conversation_id, supervisor_user.pk)
    assert await supervisor.error("sync", conversation_id=conversation_id, last_seq=0) == "not_found"
    for client in (advisor, supervisor, visitor):
        await client.close()
