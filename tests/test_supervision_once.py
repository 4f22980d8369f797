"""A supervisor's console receives each entry of a chat it monitors at most once, in order, even
when it leaves the chat before the layer has delivered the notice of its own monitoring: the
notice then finds the socket out of the conversation, and must not subscribe it again and send
the log a second time. A console open for a shift sees a summary of every chat go by, so such a
notice easily queues behind them. Runs on both profiles."""

from collections import Counter
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from agents.services import staff_group
from tests import factories
from tests.support.ws import ProtocolClient, advisor_on_shift, queued_visitor, staff_socket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def setup_queues(db: None) -> None:
    factories.queues()


async def make_staff(**kwargs: Any) -> Any:
    return await sync_to_async(factories.staff)(**kwargs)


def entry_counts(console: ProtocolClient, conversation_id: str) -> Counter[int]:
    return Counter(
        m["seq"] for m in console.frames if m.get("type") == "entry" and m.get("conversation_id") == conversation_id
    )


async def test_leaving_before_the_monitor_notice_arrives_sends_no_entry_twice(setup_queues: None) -> None:
    advisor_user = await make_staff()
    advisor = await advisor_on_shift(advisor_user)
    visitor, _, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)
    await visitor.ok("message.send", client_msg_id="v1", text="hello")
    await advisor.expect("entry", text="hello")

    supervisor_user = await make_staff(role="supervisor")
    supervisor = await (await staff_socket(supervisor_user)).connect()
    await supervisor.ok("hello")
    await supervisor.drain(0.2)
    layer = get_channel_layer()
    assert layer is not None
    # Monitor and leave at once; between them, another notice for this console (on a busy
    # console, the summary of some other chat) holds the layer's side of the socket while the
    # monitor runs, so the monitor's own notice is handled after the leave.
    await supervisor.send({"type": "supervise.monitor", "id": "monitor", "conversation_id": conversation_id})
    await layer.group_send(staff_group(supervisor_user.pk), {"type": "chat.staff_state", "state": {"type": "busy"}})
    await supervisor.send({"type": "supervise.leave", "id": "leave", "conversation_id": conversation_id})
    assert (await supervisor.expect("reply", id="monitor"))["ok"]
    assert (await supervisor.expect("reply", id="leave"))["ok"]
    await supervisor.expect("busy")

    await visitor.ok("conversation.end")
    await advisor.expect("conversation", conversation_id=conversation_id, state="closed")
    await supervisor.expect("conversation", conversation_id=conversation_id, state="closed")
    await supervisor.drain(0.3)

    counts = entry_counts(supervisor, conversation_id)
    assert counts, "the monitor's catch-up sent the log"
    assert max(counts.values()) == 1, counts
    seqs = [
        m["seq"] for m in supervisor.frames if m.get("type") == "entry" and m.get("conversation_id") == conversation_id
    ]
    assert seqs == sorted(seqs)
    # Out of the chat: the notice did not subscribe the socket again.
    assert await supervisor.error("sync", conversation_id=conversation_id, last_seq=0) == "not_found"
    for client in (supervisor, advisor, visitor):
        await client.close()


async def test_monitor_notice_for_another_tab_still_subscribes_this_one(setup_queues: None) -> None:
    """The same supervisor in two tabs: the one that did not monitor is subscribed by the
    notice, and receives the log once."""
    advisor = await advisor_on_shift(await make_staff())
    visitor, _, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)
    await visitor.ok("message.send", client_msg_id="v1", text="hello")

    supervisor_user = await make_staff(role="supervisor")
    first = await (await staff_socket(supervisor_user)).connect()
    second = await (await staff_socket(supervisor_user)).connect()
    await first.ok("hello")
    await second.ok("hello")
    await first.ok("supervise.monitor", conversation_id=conversation_id)
    await second.expect("entry", conversation_id=conversation_id, text="hello")
    await visitor.ok("message.send", client_msg_id="v2", text="still there")
    await second.expect("entry", conversation_id=conversation_id, text="still there")
    await first.expect("entry", conversation_id=conversation_id, text="still there")
    await first.drain(0.2)
    await second.drain(0.2)
    for console in (first, second):
        counts = entry_counts(console, conversation_id)
        assert counts and max(counts.values()) == 1, counts
    for client in (first, second, advisor, visitor):
        await client.close()
