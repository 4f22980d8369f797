"""Faults an independent client found in the protocol: the new holder of a reassigned chat gets
its summary."""

import pytest
from asgiref.sync import sync_to_async

from tests import factories
from tests.support.ws import advisor_on_shift, queued_visitor

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def setup_queues(db: None) -> None:
    factories.queues()


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
