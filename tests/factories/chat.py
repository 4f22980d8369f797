"""chat: the standard queues, and conversations in a given state, made through the services."""

from datetime import timedelta
from typing import Any

from agents.models import StaffProfile
from chat import defaults
from chat.models import Conversation, Queue
from chat.services.handoff import conversation_accept, conversation_end_staff
from chat.services.kernel import staff_actor
from chat.services.message import message_send_staff, message_send_visitor
from chat.services.visitor import conversation_start, triage_submit, visitor_create

ANSWERS = {"safe_to_talk": "yes", "in_danger": "no", "about": "myself"}


def queues() -> dict[str, Queue]:
    """General (the default), perpetrator and professionals, with the default reference data."""
    defaults.seed_defaults()
    made = {}
    for slug, about, default in [
        ("general", ["myself", "someone_i_know"], True),
        ("perpetrator", ["own_behaviour"], False),
        ("professionals", ["professional"], False),
    ]:
        made[slug], _ = Queue.objects.get_or_create(
            slug=slug, defaults={"name": slug.title(), "about": about, "is_default": default}
        )
    return made


def chat_with(advisor: Any) -> Conversation:
    """A conversation the advisor holds, with a few messages."""
    visitor, _ = visitor_create()
    conversation_start(visitor_id=visitor.pk, conn_id="c")
    conversation = triage_submit(visitor_id=visitor.pk, answers=ANSWERS)
    StaffProfile.objects.filter(user=advisor).update(availability="on_shift")
    actor = staff_actor(user_id=advisor.pk)
    conversation_accept(actor=actor, conversation_id=conversation.pk)
    message_send_visitor(visitor_id=visitor.pk, client_msg_id="v1", text="He said he would kill me — café")
    message_send_staff(
        actor=actor,
        conversation_id=conversation.pk,
        client_msg_id="a1",
        text="You did the right thing telling us.",
        kind="text",
    )
    message_send_staff(
        actor=actor, conversation_id=conversation.pk, client_msg_id="n1", text="Threats to kill", kind="note"
    )
    return conversation


def closed_chat(advisor: Any, text: str, *, days_ago: float) -> Conversation:
    """A chat the advisor held and ended, one visitor message and one note, `days_ago` old."""
    visitor, _ = visitor_create()
    conversation_start(visitor_id=visitor.pk, conn_id="c")
    conversation = triage_submit(visitor_id=visitor.pk, answers=ANSWERS)
    actor = staff_actor(user_id=advisor.pk)
    conversation_accept(actor=actor, conversation_id=conversation.pk)
    message_send_visitor(visitor_id=visitor.pk, client_msg_id="v", text=text)
    message_send_staff(
        actor=actor, conversation_id=conversation.pk, client_msg_id="n", text=f"note {text}", kind="note"
    )
    conversation_end_staff(actor=actor, conversation_id=conversation.pk, outcome="emotional_support")
    shift = timedelta(days=days_ago)
    row = Conversation.objects.get(pk=conversation.pk)
    Conversation.objects.filter(pk=conversation.pk).update(
        created_at=row.created_at - shift,
        queued_at=row.queued_at - shift,  # type: ignore[operator]
        accepted_at=row.accepted_at - shift,  # type: ignore[operator]
        closed_at=row.closed_at - shift,  # type: ignore[operator]
    )
    return conversation
