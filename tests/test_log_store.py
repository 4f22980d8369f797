"""A chat message's one path (the sender's gate, then chat.engine.log_store) writes in three
statements what the ORM would write, and every case it refuses is refused with the reason and
nothing written."""

from typing import Any
from uuid import uuid4

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import selectors
from chat.engine import events
from chat.errors import ProtocolError
from chat.models import Conversation, Message
from chat.services.handoff import conversation_accept
from chat.services.kernel import StaffActor, staff_actor
from chat.services.message import message_send_staff, message_send_visitor
from chat.services.staff import availability_set
from chat.services.visitor import conversation_end_visitor, conversation_start, triage_submit, visitor_create
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

ANSWERS: dict[str, str | list[str]] = {"safe_to_talk": "yes", "in_danger": "no", "about": "myself", "help": []}


@pytest.fixture
def outbox() -> Any:
    """Broadcasts gathered as a socket's database call gathers them."""
    box: list[events.Event] = []
    token = events._outbox.set(box)
    yield box
    events._outbox.reset(token)


def _chat(*, accepted: bool = True) -> tuple[Any, Any, StaffActor]:
    factories.queues()
    user = factories.staff()
    actor = staff_actor(user_id=user.pk)
    availability_set(actor=actor, availability="on_shift")
    visitor, _ = visitor_create()
    conversation = conversation_start(visitor_id=visitor.pk, conn_id="p:1")
    if accepted:
        triage_submit(visitor_id=visitor.pk, answers=ANSWERS, conversation_id=conversation.pk)
        conversation_accept(actor=actor, conversation_id=conversation.pk)
    return visitor, conversation, actor


def _row(message: Message) -> dict[str, Any]:
    fields = ("conversation_id", "seq", "public_seq", "client_msg_id", "kind", "sender_kind", "sender_user_id")
    return {name: getattr(message, name) for name in (*fields, "sender_name", "event", "data", "text")}


def test_both_sides_write_in_three_statements_what_the_orm_would(outbox: list[events.Event]) -> None:
    visitor, conversation, actor = _chat()
    before = Conversation.objects.get(pk=conversation.pk)
    with CaptureQueriesContext(connection) as queries:
        sent = message_send_visitor(
            visitor_id=visitor.pk, client_msg_id="v1", text="hello", conversation_id=conversation.pk
        )
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    # The row locked and read, its numbers, the entry, in one transaction.
    assert [s for s in statements if s not in ("BEGIN", "COMMIT")] == ["SELECT", "UPDATE", "INSERT"]
    with CaptureQueriesContext(connection) as queries:
        replied = message_send_staff(
            actor=actor, conversation_id=conversation.pk, client_msg_id="a1", text="hi", kind="text"
        )
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    assert [s for s in statements if s not in ("BEGIN", "COMMIT")] == ["SELECT", "UPDATE", "INSERT"]
    stored = {m.client_msg_id: m for m in Message.objects.filter(client_msg_id__in=["v1", "a1"])}
    assert _row(stored["v1"]) == _row(sent.message) | {"data": {}}
    assert (stored["v1"].seq, stored["v1"].public_seq) == (before.last_seq + 1, before.last_public_seq + 1)
    assert stored["v1"].created_at == sent.message.created_at and sent.message.pk == stored["v1"].pk
    assert _row(stored["a1"]) == _row(replied.message)
    assert (stored["a1"].sender_kind, stored["a1"].sender_user_id, stored["a1"].sender_name) == (
        "advisor",
        actor.user_id,
        actor.name,
    )
    after = Conversation.objects.get(pk=conversation.pk)
    assert (after.last_seq, after.last_public_seq) == (before.last_seq + 2, before.last_public_seq + 2)
    # The entries broadcast are the ones read back from the database later.
    entries = [message["entry"] for _, message in outbox if message["type"] == "chat.entry"]
    assert selectors.entry_payload(stored["v1"], audience="staff") in entries
    assert selectors.entry_payload(stored["a1"], audience="visitor") in entries
    assert sent.detect_language is True  # no language detected yet, among the first entries


def test_a_resend_is_the_stored_message(outbox: list[events.Event]) -> None:
    visitor, conversation, actor = _chat()
    first = message_send_visitor(
        visitor_id=visitor.pk, client_msg_id="v1", text="hello", conversation_id=conversation.pk
    )
    again = message_send_visitor(
        visitor_id=visitor.pk, client_msg_id="v1", text="hello", conversation_id=conversation.pk
    )
    assert again.duplicate and again.message.pk == first.message.pk
    assert Conversation.objects.get(pk=conversation.pk).last_seq == first.message.seq  # rolled back whole
    # The same id from the other side is someone else's message: refused, not merged.
    with pytest.raises(ProtocolError) as refused:
        message_send_staff(actor=actor, conversation_id=conversation.pk, client_msg_id="v1", text="hi", kind="text")
    assert refused.value.code == "duplicate_client_id"


def test_every_case_the_gates_refuse_says_why_and_writes_nothing(outbox: list[events.Event]) -> None:
    visitor, conversation, actor = _chat(accepted=False)  # still in triage
    with pytest.raises(ProtocolError) as in_triage:
        message_send_visitor(visitor_id=visitor.pk, client_msg_id="v1", text="x", conversation_id=conversation.pk)
    assert in_triage.value.code == "invalid_state"
    triage_submit(visitor_id=visitor.pk, answers=ANSWERS, conversation_id=conversation.pk)
    # Queued: the visitor may write, nobody holds it yet.
    with pytest.raises(ProtocolError) as not_held:
        message_send_staff(actor=actor, conversation_id=conversation.pk, client_msg_id="a0", text="x", kind="text")
    assert not_held.value.code in ("not_found", "not_holder")
    # Another visitor naming this chat is refused: they have no chat of their own.
    other, _ = visitor_create()
    with pytest.raises(ProtocolError) as not_theirs:
        message_send_visitor(visitor_id=other.pk, client_msg_id="o1", text="x", conversation_id=conversation.pk)
    assert not_theirs.value.code == "no_conversation"
    assert Conversation.objects.get(pk=conversation.pk).last_seq == conversation.last_seq + 1  # the queue notice only
    # A stale chat id: the visitor's gate finds their open chat and the message is written there.
    sent = message_send_visitor(visitor_id=visitor.pk, client_msg_id="v2", text="x", conversation_id=uuid4())
    assert sent.message.conversation_id == conversation.pk
    # A private note takes the same path, without a public number.
    conversation_accept(actor=actor, conversation_id=conversation.pk)
    note = message_send_staff(
        actor=actor, conversation_id=conversation.pk, client_msg_id="n1", text="note", kind="note"
    )
    assert note.message.public_seq is None
    conversation_end_visitor(visitor_id=visitor.pk, quick_exit=False)
    closed = Conversation.objects.get(pk=conversation.pk).last_seq
    with pytest.raises(ProtocolError) as visitor_after:
        message_send_visitor(visitor_id=visitor.pk, client_msg_id="v3", text="x", conversation_id=conversation.pk)
    assert visitor_after.value.code == "no_conversation"
    with pytest.raises(ProtocolError) as staff_after:
        message_send_staff(actor=actor, conversation_id=conversation.pk, client_msg_id="a3", text="x", kind="text")
    assert staff_after.value.code == "conversation_closed"
    assert Conversation.objects.get(pk=conversation.pk).last_seq == closed
