"""Transfers, returning to the queue, supervision and ending the chat."""

import pytest

from chat.models import Assignment, Conversation, Message, Transfer
from tests import factories
from tests.support.ws import advisor_on_shift, queued_visitor, visitor_socket

pytestmark = pytest.mark.django_db(transaction=True)


async def test_warm_transfer_with_note(setup_queues: None) -> None:
    first_user, second_user = await factories.staff_async(), await factories.staff_async()
    first, second = await advisor_on_shift(first_user), await advisor_on_shift(second_user)
    visitor, _, conversation_id = await queued_visitor()
    await first.ok("conversation.accept", conversation_id=conversation_id)
    await visitor.ok("message.send", client_msg_id="v1", text="before the transfer")

    offer = await first.ok(
        "transfer.offer", conversation_id=conversation_id, to_user_id=second_user.pk, note="Needs housing advice"
    )
    offered = await second.expect("transfer.offered", transfer_id=offer["transfer_id"])
    assert offered["note"] == "Needs housing advice" and offered["from_name"] == first_user.staff.display_name

    accepted = await second.ok("transfer.respond", transfer_id=offer["transfer_id"], accept=True)
    assert accepted["state"] == "accepted"
    assert accepted["conversation"]["holder"]["user_id"] == second_user.pk
    # The new advisor gets the whole log, the private note included.
    note = await second.expect("entry", event="transfer_offered")
    assert note["text"] == "Needs housing advice" and note["kind"] == "note"
    assert (await second.expect("entry", text="before the transfer"))["sender_kind"] == "visitor"

    left = await first.expect("conversation.left", conversation_id=conversation_id)
    assert left["reason"] == "transferred"
    await first.expect("transfer.result", transfer_id=offer["transfer_id"], state="accepted")

    told = await visitor.expect("entry", event="transferred")
    assert "another advisor" in told["text"]
    await visitor.drain()
    assert not [m for m in visitor.inbox if m.get("text") == "Needs housing advice"]

    # The old advisor may no longer speak; the new one may.
    code = await first.error("message.send", conversation_id=conversation_id, client_msg_id="a1", text="hi")
    assert code == "not_found"
    await second.ok("message.send", conversation_id=conversation_id, client_msg_id="b1", text="Hello, I'm here now")
    await visitor.expect("entry", text="Hello, I'm here now")
    await visitor.ok("message.send", client_msg_id="v2", text="thank you")
    await second.expect("entry", text="thank you")

    reasons = [
        (a.user_id, a.start_reason, a.end_reason)
        async for a in Assignment.objects.filter(conversation_id=conversation_id).order_by("started_at")
    ]
    assert reasons == [(first_user.pk, "accepted", "transferred"), (second_user.pk, "transferred", "")]
    for client in (first, second, visitor):
        await client.close()


async def test_declined_transfer_keeps_the_chat_with_its_advisor(setup_queues: None) -> None:
    first_user, second_user = await factories.staff_async(), await factories.staff_async()
    first, second = await advisor_on_shift(first_user), await advisor_on_shift(second_user)
    visitor, _, conversation_id = await queued_visitor()
    await first.ok("conversation.accept", conversation_id=conversation_id)
    offer = await first.ok("transfer.offer", conversation_id=conversation_id, to_user_id=second_user.pk, note="")
    await second.expect("transfer.offered")
    declined = await second.ok("transfer.respond", transfer_id=offer["transfer_id"], accept=False)
    assert declined["state"] == "declined"
    await first.expect("transfer.result", state="declined")
    await first.expect("entry", event="transfer_declined")
    await first.ok("message.send", conversation_id=conversation_id, client_msg_id="a1", text="still me")
    await visitor.expect("entry", text="still me")
    # A decided transfer cannot be answered again.
    code = await second.error("transfer.respond", transfer_id=offer["transfer_id"], accept=True)
    assert code == "invalid_state"
    for client in (first, second, visitor):
        await client.close()


async def test_transfer_to_someone_off_shift_is_refused(setup_queues: None) -> None:
    first_user, off_user = await factories.staff_async(), await factories.staff_async()
    first = await advisor_on_shift(first_user)
    visitor, _, conversation_id = await queued_visitor()
    await first.ok("conversation.accept", conversation_id=conversation_id)
    code = await first.error("transfer.offer", conversation_id=conversation_id, to_user_id=off_user.pk)
    assert code == "target_unavailable"
    assert await Transfer.objects.acount() == 0
    await first.close()
    await visitor.close()


async def test_return_to_queue_with_note(setup_queues: None) -> None:
    first_user, second_user = (
        await factories.staff_async(),
        await factories.staff_async(queues_=["general", "perpetrator"]),
    )
    first = await advisor_on_shift(first_user)
    visitor, _, conversation_id = await queued_visitor()
    await first.ok("conversation.accept", conversation_id=conversation_id)
    result = await first.ok(
        "conversation.requeue", conversation_id=conversation_id, queue="perpetrator", note="Asked about own behaviour"
    )
    assert result["state"] == "queued"
    await first.expect("conversation.left", reason="returned_to_queue")
    await visitor.expect("entry", event="requeued")
    await visitor.expect("status", state="queued", position=1)

    second = await advisor_on_shift(second_user)
    taken = await second.ok("queue.take_next")
    assert taken["conversation"]["conversation_id"] == conversation_id
    assert taken["conversation"]["queue"] == "perpetrator"
    note = await second.expect("entry", kind="note")
    assert note["text"] == "Asked about own behaviour"
    assert await first.error("queue.take_next") == "queue_empty"
    for client in (first, second, visitor):
        await client.close()


async def test_silent_monitor_whisper_and_open_join(setup_queues: None) -> None:
    advisor_user = await factories.staff_async()
    supervisor_user = await factories.staff_async(role="supervisor")
    advisor = await advisor_on_shift(advisor_user)
    supervisor = await advisor_on_shift(supervisor_user)
    visitor, _, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)
    await visitor.ok("message.send", client_msg_id="v1", text="first words")

    monitored = await supervisor.ok("supervise.monitor", conversation_id=conversation_id)
    assert monitored["conversation"]["role"] == "monitor"
    # The supervisor catches up on the log.
    await supervisor.expect("entry", text="first words")
    await visitor.ok("message.send", client_msg_id="v2", text="second words")
    await supervisor.expect("entry", text="second words")

    await supervisor.ok(
        "message.send", conversation_id=conversation_id, client_msg_id="w1", text="Ask about children", kind="whisper"
    )
    whisper = await advisor.expect("entry", kind="whisper")
    assert whisper["text"] == "Ask about children" and whisper["sender_kind"] == "supervisor"
    # A monitor may not speak to the visitor.
    code = await supervisor.error("message.send", conversation_id=conversation_id, client_msg_id="s0", text="hi")
    assert code == "not_holder"

    await visitor.drain()
    texts = [m.get("text", "") for m in visitor.inbox] + [m.get("event", "") for m in visitor.inbox]
    assert "Ask about children" not in texts and "monitor_started" not in texts

    joined = await supervisor.ok("supervise.join", conversation_id=conversation_id)
    assert joined["conversation"]["role"] == "participant"
    told = await visitor.expect("entry", event="supervisor_joined")
    assert supervisor_user.staff.display_name in told["text"]
    await supervisor.ok("message.send", conversation_id=conversation_id, client_msg_id="s1", text="Hello from Jo")
    await visitor.expect("entry", text="Hello from Jo")
    await advisor.expect("entry", text="Hello from Jo")

    await supervisor.ok("supervise.leave", conversation_id=conversation_id)
    roles = [
        (a.role, a.start_reason, a.end_reason)
        async for a in Assignment.objects.filter(conversation_id=conversation_id, user=supervisor_user)
    ]
    assert roles == [("monitor", "monitored", "left"), ("participant", "joined", "left")]
    for client in (advisor, supervisor, visitor):
        await client.close()


async def test_visitor_quick_exit_ends_at_once_and_tells_the_advisor(setup_queues: None) -> None:
    advisor = await advisor_on_shift(await factories.staff_async())
    visitor, _, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)
    await visitor.send({"type": "quick_exit"})
    told = await advisor.expect("entry", event="quick_exit")
    assert told["text"] == "The visitor used quick exit."
    summary = await advisor.expect("conversation", conversation_id=conversation_id, state="closed")
    assert summary["close_reason"] == "quick_exit"
    code = await advisor.error("message.send", conversation_id=conversation_id, client_msg_id="a1", text="hello?")
    assert code == "conversation_closed"
    conversation = await Conversation.objects.aget(pk=conversation_id)
    assert conversation.state == "closed" and conversation.outcome == "quick_exit"
    await advisor.close()
    await visitor.close()


async def test_visitor_ends_the_chat(setup_queues: None) -> None:
    advisor = await advisor_on_shift(await factories.staff_async())
    visitor, _, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)
    ended = await visitor.ok("conversation.end")
    assert ended["state"] == "closed"
    await advisor.expect("entry", event="closed")
    state = await advisor.expect("staff.state", load=0)
    assert state["capacity"] == 3
    assert await Message.objects.filter(conversation_id=conversation_id, event="closed").acount() == 1
    await advisor.close()
    await visitor.close()


async def test_surge_pause_stops_new_chats_only(setup_queues: None) -> None:
    advisor = await advisor_on_shift(await factories.staff_async())
    supervisor_user = await factories.staff_async(role="supervisor")
    supervisor = await advisor_on_shift(supervisor_user)
    queued, _, queued_id = await queued_visitor()

    assert await advisor.error("service.pause", paused=True) == "forbidden"
    status = await supervisor.ok("service.pause", paused=True, message="Very busy. In danger? Call 999.")
    assert status["paused"] is True and status["changed_by"] == supervisor_user.staff.display_name
    await supervisor.expect("service.status", paused=True)

    newcomer = await visitor_socket().connect()
    hello = await newcomer.ok("hello")
    assert hello["service"]["paused"] is True
    assert hello["service"]["message"] == "Very busy. In danger? Call 999."
    reply = await newcomer.request("conversation.start")
    assert reply["error"] == {"code": "paused", "message": "Very busy. In danger? Call 999."}
    assert await Conversation.objects.filter(visitor__conversations__isnull=True).acount() == 0

    # Those already queued carry on.
    await advisor.ok("conversation.accept", conversation_id=queued_id)
    await queued.expect("entry", event="assigned")

    await supervisor.ok("service.pause", paused=False)
    assert (await newcomer.ok("conversation.start"))["conversation_id"]
    from chat.models import ServiceStatusChange

    assert [c.paused async for c in ServiceStatusChange.objects.order_by("changed_at")] == [True, False]
    for client in (advisor, supervisor, queued, newcomer):
        await client.close()
