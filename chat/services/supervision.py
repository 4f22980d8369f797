"""Supervisors in a chat: monitoring, joining and leaving, and reassigning it to another
advisor.
"""

from uuid import UUID

from django.db import transaction

from agents.models import StaffProfile
from chat.engine import handoff_store
from chat.errors import ProtocolError
from chat.models import Assignment, Conversation, Message
from chat.services.handoff import hand_over
from chat.services.kernel import (
    StaffActor,
    assignments_end,
    conversation_for_staff,
    entry_append,
    note_append,
    transfers_cancel,
)
from chat.services.notices import staff_subscribe, staff_unsubscribe

State = Conversation.State
Sender = Message.Sender
Kind = Message.Kind


def supervise(*, actor: StaffActor, conversation_id: UUID, mode: str) -> Conversation:
    """mode: "monitor" (silent), "join" (the visitor is told), or "leave"."""
    with transaction.atomic():
        conversation = conversation_for_staff(actor=actor, conversation_id=conversation_id, action="supervise")
        if mode != "leave" and conversation.state == State.CLOSED:
            raise ProtocolError("conversation_closed")
        current = (
            Assignment.objects.filter(conversation=conversation, user_id=actor.user_id, ended_at__isnull=True)
            .exclude(role=Assignment.Role.HOLDER)
            .first()
        )
        if mode == "leave":
            if current is None:
                raise ProtocolError("invalid_state", "You are not in this conversation.")
            assignments_end(
                conversation,
                reason=Assignment.Reason.LEFT,
                user_id=actor.user_id,
                roles=(Assignment.Role.MONITOR, Assignment.Role.PARTICIPANT),
            )
            entry_append(
                conversation,
                kind=Kind.EVENT,
                sender_kind=Sender.SYSTEM,
                event="supervisor_left",
                public=current.role == Assignment.Role.PARTICIPANT,
                text=f"{actor.name} left the chat.",
                data={"user_id": actor.user_id, "public": {}},
            )
            staff_unsubscribe(actor.user_id, conversation, "left")
            return conversation
        role = Assignment.Role.MONITOR if mode == "monitor" else Assignment.Role.PARTICIPANT
        if current is not None and current.role == role:
            return conversation
        if current is not None:
            assignments_end(conversation, reason=Assignment.Reason.LEFT, user_id=actor.user_id, roles=(current.role,))
        Assignment.objects.create(
            conversation=conversation,
            user_id=actor.user_id,
            role=role,
            start_reason=Assignment.Reason.MONITORED if mode == "monitor" else Assignment.Reason.JOINED,
        )
        if mode == "monitor":
            entry_append(
                conversation,
                kind=Kind.EVENT,
                sender_kind=Sender.SYSTEM,
                event="monitor_started",
                public=False,
                text=f"{actor.name} is monitoring this chat.",
                data={"user_id": actor.user_id},
            )
        else:
            entry_append(
                conversation,
                kind=Kind.EVENT,
                sender_kind=Sender.SYSTEM,
                event="supervisor_joined",
                public=True,
                text=f"A supervisor, {actor.name}, has joined the chat.",
                data={"user_id": actor.user_id, "public": {"name": actor.name}},
            )
        staff_subscribe(actor.user_id, conversation.pk, role)
        return conversation


def conversation_reassign(*, actor: StaffActor, conversation_id: UUID, to_user_id: int, note: str) -> Conversation:
    """Supervisors: hand a live conversation straight to another advisor on shift."""
    if not actor.is_supervisor:
        raise ProtocolError("forbidden")
    with transaction.atomic():
        target = StaffProfile.objects.select_for_update().filter(user_id=to_user_id, user__is_active=True).first()
        if target is None or target.availability != StaffProfile.Availability.ON_SHIFT:
            raise ProtocolError("target_unavailable")
        if handoff_store.load(to_user_id) >= target.capacity:
            raise ProtocolError("target_unavailable")
        conversation = conversation_for_staff(actor=actor, conversation_id=conversation_id, action="supervise")
        if conversation.state not in Conversation.HELD_STATES:
            raise ProtocolError("invalid_state")
        previous = conversation.assigned_to_id
        if previous == to_user_id:
            return conversation
        transfers_cancel(conversation)
        if note:
            note_append(conversation, actor=actor, text=note, written_for="reassign")
        hand_over(conversation, to=target, reason="reassigned", by_user_id=actor.user_id)
        return conversation
