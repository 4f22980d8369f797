"""The whole path through the real ASGI application: triage, queue, accept, chat, end."""

import pytest

from chat.models import Assignment, Conversation, Message
from tests import factories
from tests.support.ws import advisor_on_shift, queued_visitor, staff_socket

pytestmark = pytest.mark.django_db(transaction=True)


async def test_visitor_queued_then_accepted_and_chatting(setup_queues: None) -> None:
    advisor_user = await factories.staff_async()
    advisor = await advisor_on_shift(advisor_user)

    visitor, _token, conversation_id = await queued_visitor()
    # The bot's greeting and the queued notice, in order, numbered 1 and 2.
    greeting, queued = await visitor.entries(2)
    assert (greeting["seq"], greeting["event"]) == (1, "triage_started")
    assert (queued["seq"], queued["event"]) == (2, "queued")
    status = await visitor.expect("status", state="queued")
    assert status["position"] == 1
    assert status["estimated_wait_seconds"] is not None  # an advisor is on shift

    snapshot = await advisor.expect("queue", queue="general", length=1)
    assert snapshot["entries"][0]["conversation_id"] == conversation_id
    assert snapshot["entries"][0]["triage"]["about"] == "myself"
    assert "answers" not in snapshot["entries"][0]["triage"]  # those only in the chat's own summary

    result = await advisor.ok("queue.take_next")
    assert result["conversation"]["conversation_id"] == conversation_id
    assert result["conversation"]["state"] == "active"

    assigned = await visitor.expect("entry", event="assigned")
    assert assigned["data"] == {"advisor_name": advisor_user.staff.display_name}
    await visitor.expect("status", state="active")

    # Staff see the whole log, numbered in their own sequence.
    staff_entries = [await advisor.expect("entry", seq=n) for n in (1, 2, 3)]
    assert [e["event"] for e in staff_entries] == ["triage_started", "queued", "assigned"]

    sent = await visitor.ok("message.send", client_msg_id="v-1", text="Hello, is anyone there?")
    assert sent["seq"] == 4 and sent["duplicate"] is False
    got = await advisor.expect("entry", seq=4)
    assert got["text"] == "Hello, is anyone there?" and got["sender_kind"] == "visitor"

    await advisor.ok("typing", conversation_id=conversation_id, active=True)
    typing = await visitor.expect("typing")
    assert typing["sender_kind"] == "advisor" and typing["active"] is True

    sent = await advisor.ok("message.send", conversation_id=conversation_id, client_msg_id="a-1", text="Yes. I'm here.")
    reply = await visitor.expect("entry", seq=5)
    assert reply["text"] == "Yes. I'm here." and reply["sender_name"] == advisor_user.staff.display_name

    await visitor.ok("receipt", seq=5, status="read")
    receipt = await advisor.expect("receipt", by="visitor")
    assert receipt["seq"] == 5 and receipt["status"] == "read"

    await advisor.ok("receipt", conversation_id=conversation_id, seq=4)
    receipt = await visitor.expect("receipt", by="staff")
    assert receipt["seq"] == 4

    ended = await advisor.ok("conversation.end", conversation_id=conversation_id, outcome="emotional_support")
    assert ended["state"] == "closed"
    closed = await visitor.expect("entry", event="closed")
    assert closed["data"] == {}  # the outcome is for staff only
    await visitor.expect("status", state="closed")

    code = await visitor.error("message.send", client_msg_id="v-2", text="still there?")
    assert code == "no_conversation"
    code = await advisor.error("message.send", conversation_id=conversation_id, client_msg_id="a-2", text="hi")
    assert code == "conversation_closed"

    conversation = await Conversation.objects.aget(pk=conversation_id)
    assert conversation.outcome == "emotional_support"
    assignment = await Assignment.objects.aget(conversation_id=conversation_id)
    assert assignment.start_reason == "accepted" and assignment.end_reason == "closed"
    await visitor.close()
    await advisor.close()


async def test_private_notes_never_reach_the_visitor(setup_queues: None) -> None:
    advisor = await advisor_on_shift(await factories.staff_async())
    visitor, _, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)
    await advisor.ok(
        "message.send", conversation_id=conversation_id, client_msg_id="n1", text="PRIVATE NOTE", kind="note"
    )
    await advisor.ok("message.send", conversation_id=conversation_id, client_msg_id="t1", text="public words")
    public = await visitor.expect("entry", text="public words")
    # The visitor's numbering has no gap where the note is.
    assert public["seq"] == 4
    await visitor.drain()
    assert not [m for m in visitor.inbox if m.get("text") == "PRIVATE NOTE"]
    await visitor.close()
    await advisor.close()


async def test_resend_with_same_client_id_returns_stored_message(setup_queues: None) -> None:
    advisor = await advisor_on_shift(await factories.staff_async())
    visitor, _, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)
    first = await visitor.ok("message.send", client_msg_id="same", text="once")
    again = await visitor.ok("message.send", client_msg_id="same", text="once")
    assert again["seq"] == first["seq"] and again["duplicate"] is True
    assert await Message.objects.filter(conversation_id=conversation_id, client_msg_id="same").acount() == 1
    # Another sender may not claim the same client id.
    code = await advisor.error("message.send", conversation_id=conversation_id, client_msg_id="same", text="x")
    assert code == "duplicate_client_id"
    await visitor.close()
    await advisor.close()


async def test_a_resend_leaves_no_gap_in_the_numbering(setup_queues: None) -> None:
    # The resend meets the unique constraint and its transaction is rolled back whole.
    advisor = await advisor_on_shift(await factories.staff_async())
    visitor, _, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)
    first = await visitor.ok("message.send", client_msg_id="v1", text="one")
    second = await visitor.ok("message.send", client_msg_id="v2", text="two")
    again = await visitor.ok("message.send", client_msg_id="v1", text="one")
    third = await visitor.ok("message.send", client_msg_id="v3", text="three")
    assert (again["seq"], again["duplicate"]) == (first["seq"], True)
    assert third["seq"] == second["seq"] + 1 and third["duplicate"] is False
    staff_first = await advisor.ok("message.send", conversation_id=conversation_id, client_msg_id="a1", text="hi")
    staff_again = await advisor.ok("message.send", conversation_id=conversation_id, client_msg_id="a1", text="hi")
    assert (staff_again["seq"], staff_again["duplicate"]) == (staff_first["seq"], True)
    seqs = [m async for m in Message.objects.filter(conversation_id=conversation_id).values_list("seq", flat=True)]
    assert sorted(seqs) == list(range(1, len(seqs) + 1))
    assert await Message.objects.filter(conversation_id=conversation_id, client_msg_id__in=["v1", "a1"]).acount() == 2
    await visitor.close()
    await advisor.close()


async def test_visitors_are_told_their_position_as_it_changes(setup_queues: None) -> None:
    advisor = await advisor_on_shift(await factories.staff_async())
    first, _, first_id = await queued_visitor()
    second, _, second_id = await queued_visitor()
    await second.expect("status", state="queued", position=2)
    urgent, _, urgent_id = await queued_visitor(in_danger="yes")
    # Immediate danger goes to the head of the queue.
    await urgent.expect("status", state="queued", position=1)
    await first.expect("status", state="queued", position=2)
    await second.expect("status", state="queued", position=3)
    taken = await advisor.ok("queue.take_next")
    assert taken["conversation"]["conversation_id"] == urgent_id
    await first.expect("status", state="queued", position=1)
    await second.expect("status", state="queued", position=2)
    for client in (first, second, urgent, advisor):
        await client.close()
    assert {first_id, second_id}


async def test_capacity_and_shift_are_enforced(setup_queues: None) -> None:
    user = await factories.staff_async(capacity=1)
    advisor = await (await staff_socket(user)).connect()
    await advisor.ok("hello")
    _, _, conversation_id = await queued_visitor()
    assert await advisor.error("conversation.accept", conversation_id=conversation_id) == "not_on_shift"
    await advisor.ok("availability.set", availability="on_shift")
    await advisor.ok("conversation.accept", conversation_id=conversation_id)
    _, _, second_id = await queued_visitor()
    assert await advisor.error("conversation.accept", conversation_id=second_id) == "at_capacity"
    assert await advisor.error("queue.take_next") == "at_capacity"
    await advisor.close()


async def test_second_accept_is_told_it_was_taken(setup_queues: None) -> None:
    one = await advisor_on_shift(await factories.staff_async())
    two = await advisor_on_shift(await factories.staff_async())
    _, _, conversation_id = await queued_visitor()
    await one.ok("conversation.accept", conversation_id=conversation_id)
    assert await two.error("conversation.accept", conversation_id=conversation_id) == "already_taken"
    assert await two.error("queue.take_next") == "queue_empty"
    await one.close()
    await two.close()


async def test_the_sender_gets_its_own_entry_in_the_reply_and_once(setup_queues: None) -> None:
    advisor = await advisor_on_shift(await factories.staff_async())
    visitor, _, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)
    await visitor.expect("entry", event="assigned")
    await advisor.expect("entry", event="assigned")
    sent = await visitor.ok("message.send", client_msg_id="v1", text="from the visitor")
    assert sent["entry"]["seq"] == sent["seq"] and sent["entry"]["text"] == "from the visitor"
    assert sent["entry"]["sender_kind"] == "visitor" and sent["entry"]["client_msg_id"] == "v1"
    # The other side gets it as an entry frame (read first: the next reply carries an entry only
    # when this socket owes nothing before it).
    await advisor.expect("entry", text="from the visitor")
    staff_sent = await advisor.ok(
        "message.send", conversation_id=conversation_id, client_msg_id="n1", text="a note", kind="note"
    )
    assert staff_sent["entry"]["kind"] == "note" and staff_sent["entry"]["seq"] == staff_sent["seq"]
    # The sender never gets a second copy.
    await visitor.ok("sync", last_seq=sent["seq"])  # a round trip: anything queued has arrived
    await advisor.ok("sync", conversation_id=conversation_id, last_seq=staff_sent["seq"])
    await visitor.drain()
    await advisor.drain()
    visitor_copies = [f for f in visitor.frames if "from the visitor" in str(f)]
    advisor_copies = [f for f in advisor.frames if "a note" in str(f)]
    assert [f["type"] for f in visitor_copies] == ["reply"]
    assert [f["type"] for f in advisor_copies] == ["reply"]
    # A resend of a message already shown carries no entry.
    again = await visitor.ok("message.send", client_msg_id="v1", text="from the visitor")
    assert again["duplicate"] is True and "entry" not in again
    await visitor.close()
    await advisor.close()


def test_the_reply_carries_the_entry_only_when_it_is_the_next_one_owed() -> None:
    import uuid

    from django.utils import timezone

    from chat.consumers.visitor import VisitorConsumer
    from chat.services.message import Sent

    conversation_id = uuid.uuid4()
    message = Message(
        conversation_id=conversation_id,
        seq=9,
        public_seq=5,
        kind="text",
        sender_kind="visitor",
        text="hi",
        created_at=timezone.now(),
    )
    socket = VisitorConsumer()
    socket.sent = {conversation_id: 3}  # entry 4 is still on its way to this socket
    assert "entry" not in socket.sent_result(Sent(message, duplicate=False))
    assert socket.sent == {conversation_id: 3}  # entry 5 then follows entry 4 as its own frame
    socket.sent = {conversation_id: 4}
    result = socket.sent_result(Sent(message, duplicate=False))
    assert result["entry"]["seq"] == 5 and socket.sent == {conversation_id: 5}
    socket.sent = {}  # not following this conversation
    assert "entry" not in socket.sent_result(Sent(message, duplicate=False))
