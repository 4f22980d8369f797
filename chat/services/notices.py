"""State notices, sent after commit: a conversation's status and summary, its queue, the
staff's subscriptions and their availability, load and capacity.
"""

from typing import Any
from uuid import UUID

from django.db import transaction

from agents.models import StaffProfile
from agents.services import staff_group
from chat import selectors
from chat.engine import events, handoff_store, queueing
from chat.models import Conversation


def state_notify(conversation: Conversation, *, final_holder: str = "") -> None:
    """After commit: the visitor's status, and the staff summary to everyone watching.

    The conversation is read again at commit, so that they show whatever else the transaction
    changed. With `final_holder` (the holder's display name), the caller has finished changing
    the conversation: they are built now from the row in hand (its queue read now unless the
    caller loaded it). A take does that, and saves up to three statements on the database
    thread while other takes wait."""
    if final_holder:
        events.emit_on_commit(_state_events(conversation, holder_name=final_holder))
        return
    conversation_id = conversation.pk

    def send() -> None:
        fresh = Conversation.objects.select_related("queue", "assigned_to__staff").get(pk=conversation_id)
        events.send_now(_state_events(fresh))

    transaction.on_commit(send)


def _state_events(conversation: Conversation, *, holder_name: str = "") -> list[events.Event]:
    summary = selectors.conversation_summary(conversation, holder_name=holder_name)
    status = selectors.visitor_status(conversation, holder_name=holder_name)
    return [
        (events.conv_visitor_group(conversation.pk), {"type": "chat.status", "status": status}),
        (events.conv_staff_group(conversation.pk), {"type": "chat.summary", "summary": summary}),
        (events.SUPERVISORS_GROUP, {"type": "chat.summary", "summary": summary}),
    ]


def queue_changed(queue_id: int, *, staff: bool = True) -> None:
    """After commit: every queued visitor's new position, and (with `staff`) the queue to the
    staff serving it (coalesced: see chat.engine.queueing)."""
    transaction.on_commit(lambda: queueing.refresh(queue_id, staff=staff))


def staff_subscribe(user_id: int, conversation_id: UUID, role: str) -> None:
    events.emit_on_commit(
        [
            (
                staff_group(user_id),
                {"type": "chat.subscribe", "conversation_id": str(conversation_id), "role": role},
            )
        ]
    )


def staff_unsubscribe(user_id: int, conversation: Conversation, reason: str) -> None:
    events.emit_on_commit(
        [
            (
                staff_group(user_id),
                {
                    "type": "chat.unsubscribe",
                    "conversation_id": str(conversation.pk),
                    "seq": conversation.last_seq,
                    "reason": reason,
                },
            )
        ]
    )


def staff_state_notify(profile: StaffProfile, *, load: int | None = None) -> None:
    """After commit: the staff member's availability, load and capacity, to them and to the
    supervisors. Read at commit; with `load` (the caller holds the profile's row locked and
    knows the load it leaves), built now."""
    user_id = profile.user_id

    def events_of(state: dict[str, Any]) -> list[events.Event]:
        event = {"type": "chat.staff_state", "state": state}
        return [(staff_group(user_id), event), (events.SUPERVISORS_GROUP, event)]

    if load is not None:
        events.emit_on_commit(events_of(_staff_state_of(profile, load)))
        return
    transaction.on_commit(lambda: events.send_now(events_of(staff_state(user_id=user_id))))


def staff_state(*, user_id: int) -> dict[str, Any]:
    profile = StaffProfile.objects.get(user_id=user_id)
    return _staff_state_of(profile, handoff_store.load(user_id))


def _staff_state_of(profile: StaffProfile, load: int) -> dict[str, Any]:
    return {
        "type": "staff.state",
        "user_id": profile.user_id,
        "availability": profile.availability,
        "load": load,
        "capacity": profile.capacity,
    }


def staff_state_notify_for(user_id: int) -> None:
    profile = StaffProfile.objects.filter(user_id=user_id).first()
    if profile is not None:
        staff_state_notify(profile)
