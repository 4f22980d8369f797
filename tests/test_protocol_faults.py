"""Faults an independent client found in the protocol: the new holder of a reassigned chat gets
its summary, and a resume point past the end of the log is refused instead of withholding
every later entry."""

from typing import Any

import pytest
from asgiref.sync import sync_to_async

from tests import factories
from tests.support.ws import advisor_on_shift, queued_visitor, staff_socket, visitor_socket

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_new_holder_of_a_reassigned_chat_gets_its_summary_before_its_log(setup_queues: None) -> None:
    first_user = await sync_to_async(factories.staff)()
    second_user = await sync_to_async(factories.staff)()
    supervisor_user = await sync_to_async(factories.staff)(role="supervisor")
    first = await advisor_on_shift(first_user)
    second = await advisor_on_shift(second_user)
    supervisor = await advisor_on_shift(supervisor_user)
    visitor, _, conversation_id = await queued_visitor(about="someone_i_know")
    await first.ok("conversation.accept", conversation_id=conversation_id)

    await supervisor.ok("conversation.reassign", conversation_id=conversation_id, to_user_id=second_user.pk)

    summary = await second.expect("conversation", conversation_id=conversation_id)
    assert summary["role"] == "holder"
    assert summary["state"] == "active"
    assert summary["holder"]["user_id"] == second_user.pk
    assert summary["triage"]["about"] == "someone_i_know"
    # The summary comes before any entry of the conversation, so the console knows it first.
    frames = [f for f in second.frames if f.get("conversation_id") == conversation_id]
    assert frames[0]["type"] == "conversation"
    await second.expect("entry", conversation_id=conversation_id, event="transferred")
    # The new holder can act on it at once.
    await second.ok("message.send", conversation_id=conversation_id, client_msg_id="m1", text="Hello, I'm here.")
    await visitor.expect("entry", text="Hello, I'm here.")
    for client in (first, second, supervisor, visitor):
        await client.close()


async def _chat_with_entries(advisor_user: Any) -> tuple[Any, Any, str, str]:
    advisor = await advisor_on_shift(advisor_user)
    visitor, token, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)
    await visitor.ok("message.send", client_msg_id="v1", text="Are you there?")
    await advisor.expect("entry", text="Are you there?")
    return advisor, visitor, token, conversation_id


async def test_a_visitor_resume_point_past_the_log_is_refused_and_nothing_is_withheld(setup_queues: None) -> None:
    advisor_user = await sync_to_async(factories.staff)()
    advisor, visitor, token, conversation_id = await _chat_with_entries(advisor_user)
    await visitor.close()

    again = await visitor_socket().connect()
    reply = await again.request("hello", token=token, last_seq=500)
    assert not reply["ok"] and reply["error"]["code"] == "seq_ahead"
    assert "500" in reply["error"]["message"]
    # Not greeted: the socket still wants a hello, and a correct one is accepted.
    assert await again.error("message.send", client_msg_id="v2", text="x") == "hello_required"
    hello = await again.ok("hello", token=token, last_seq=1)
    end = hello["status"]["seq"]
    assert end >= 2
    entries = await again.entries(end - 1)
    assert [e["seq"] for e in entries] == list(range(2, end + 1))

    # sync past the end: refused, and the next entry still arrives.
    reply = await again.request("sync", last_seq=end + 1)
    assert reply["error"]["code"] == "seq_ahead" and f"({end})" in reply["error"]["message"]
    await advisor.ok("message.send", conversation_id=conversation_id, client_msg_id="a1", text="Yes, I'm here.")
    assert (await again.expect("entry", text="Yes, I'm here."))["seq"] == end + 1
    await advisor.close()
    await again.close()


async def test_a_staff_resume_point_past_the_log_is_refused_and_nothing_is_withheld(setup_queues: None) -> None:
    advisor_user = await sync_to_async(factories.staff)()
    advisor, visitor, _, conversation_id = await _chat_with_entries(advisor_user)
    await advisor.close()

    console = await (await staff_socket(advisor_user)).connect()
    reply = await console.request("hello", last_seq={conversation_id: 9999})
    assert not reply["ok"] and reply["error"]["code"] == "seq_ahead"
    assert conversation_id in reply["error"]["message"]
    # A conversation the advisor is not in is ignored, as before; this one is replayed in full.
    await console.ok("hello", last_seq={conversation_id: 0})
    summary = await console.expect("conversation", conversation_id=conversation_id)
    end = summary["seq"]
    entries = await console.entries(end, conversation_id=conversation_id)
    assert [e["seq"] for e in entries] == list(range(1, end + 1))

    reply = await console.request("sync", conversation_id=conversation_id, last_seq=end + 5)
    assert reply["error"]["code"] == "seq_ahead" and f"({end})" in reply["error"]["message"]
    await visitor.ok("message.send", client_msg_id="v9", text="Still here")
    assert (await console.expect("entry", text="Still here"))["seq"] == end + 1
    await console.close()
    await visitor.close()
