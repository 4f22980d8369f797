"""Who holds a chat: accepting, taking the next, ending, returning to the queue and warm
transfers.

Accepting is decided under the conversation's row lock: of several advisors accepting at once
exactly one finds it still queued.
"""

from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from agents.models import StaffProfile
from agents.services import staff_group
from chat import reference, selectors
from chat.engine import events, handoff_store, statements
from chat.errors import ProtocolError
from chat.models import Assignment, Conversation, Message, Queue, Transfer
from chat.services.kernel import (
    StaffActor,
    assignments_end,
    conversation_close,
    conversation_for_staff,
    entry_append,
    note_append,
    profile_lock,
    transfers_cancel,
)
from chat.services.notices import (
    queue_changed,
    staff_state_notify,
    staff_state_notify_for,
    staff_subscribe,
    staff_unsubscribe,
    state_notify,
)
from chat.services.staff import live_connections

State = Conversation.State
Sender = Message.Sender
Kind = Message.Kind


def _take(conversation: Conversation, *, actor: StaffActor, reason: str) -> None:
    """The locked conversation to the actor; the caller changes it no further."""
    now = timezone.now()
    conversation.state = State.ACTIVE if conversation.visitor_away_since is None else State.WAITING_VISITOR
    conversation.assigned_to_id = actor.user_id
    conversation.accepted_at = conversation.accepted_at or now
    statements.insert(
        Assignment,
        {
            "conversation_id": conversation.pk,
            "user_id": actor.user_id,
            "role": Assignment.Role.HOLDER,
            "started_at": now,
            "start_reason": reason,
            "ended_at": None,
            "end_reason": "",
        },
    )
    entry_append(
        conversation,
        kind=Kind.EVENT,
        sender_kind=Sender.SYSTEM,
        event="assigned",
        public=True,
        text=f"You are now talking to {actor.name}.",
        data={"user_id": actor.user_id, "reason": reason, "public": {"advisor_name": actor.name}},
        also_saving=("state", "assigned_to_id", "accepted_at"),
    )
    staff_subscribe(actor.user_id, conversation.pk, "holder")
    state_notify(conversation, final_holder=actor.name)


def _check_can_hold(profile: StaffProfile) -> int:
    """The staff member's load, if they may take one more chat."""
    if profile.availability != StaffProfile.Availability.ON_SHIFT:
        raise ProtocolError("not_on_shift")
    load = handoff_store.load(profile.user_id)
    if load >= profile.capacity:
        raise ProtocolError("at_capacity")
    return load


def conversation_accept(*, actor: StaffActor, conversation_id: UUID) -> Conversation:
    with transaction.atomic():
        profile = profile_lock(actor.user_id)
        load = _check_can_hold(profile)
        conversation = conversation_for_staff(actor=actor, conversation_id=conversation_id, action="accept")
        if conversation.state == State.CLOSED:
            raise ProtocolError("conversation_closed")
        if conversation.state != State.QUEUED:
            raise ProtocolError("already_taken") if conversation.assigned_to_id else ProtocolError("invalid_state")
        _take(conversation, actor=actor, reason=Assignment.Reason.ACCEPTED)
        queue_changed(conversation.queue_id)  # type: ignore[arg-type]
        staff_state_notify(profile, load=load + 1)
        return conversation


def speaks(languages: list[str] | None) -> set[str]:
    return set(languages or [settings.LANGUAGE_CODE])


# How far down the queues take_next looks for a chat in a language the advisor speaks.
TAKE_NEXT_LOOKAHEAD = 200


@reference.memo(ttl=2, models=("agents.staffprofile:availability,languages",))
def _covered_languages(queue_ids: tuple[int, ...]) -> dict[int, frozenset[str]]:
    """The languages someone on shift speaks, by queue. Cached: with hundreds on shift, reading
    every profile's languages on each take_next was a tenth of a busy server's time."""
    covered: dict[int, set[str]] = {}
    on_shift = StaffProfile.objects.filter(
        availability=StaffProfile.Availability.ON_SHIFT, queues__in=queue_ids
    ).values_list("queues", "languages")
    for queue_id, languages in on_shift:
        covered.setdefault(queue_id, set()).update(speaks(languages))
    return {queue_id: frozenset(codes) for queue_id, codes in covered.items()}


def _servable(profile: StaffProfile) -> list[UUID]:
    """Queued chats this advisor should take next, in queue order: those in a language they
    speak, those in a language no advisor on shift in that queue speaks (then the advisor is told
    and can ask for an interpreter), and any that has waited LANGUAGE_WAIT_SECONDS for a speaker."""
    own = speaks(profile.languages)
    waited_since = timezone.now() - timedelta(seconds=float(settings.CHAT["LANGUAGE_WAIT_SECONDS"]))
    candidates = handoff_store.queued_for(profile.pk, TAKE_NEXT_LOOKAHEAD)
    covered: dict[int, frozenset[str]] | None = None
    servable = []
    for pk, queue_id, language, detected, queued_at in candidates:
        wanted = {code for code in (language, detected) if code}
        if not wanted or wanted & own or (queued_at is not None and queued_at <= waited_since):
            servable.append(pk)
            continue
        # Who else on shift speaks it is read only for a chat this advisor cannot serve: while
        # advisors come on shift the cache is cleared with each of them, and the read grows with
        # the staff on shift (during a ramp of 1,000 it was 14 % of the database thread).
        if covered is None:
            covered = _covered_languages(tuple(sorted(profile.queues.values_list("pk", flat=True))))
        if not wanted & covered.get(queue_id, frozenset()):
            servable.append(pk)
    return servable


def queue_take_next(*, actor: StaffActor) -> Conversation:
    with transaction.atomic():
        profile = profile_lock(actor.user_id)
        load = _check_can_hold(profile)
        # Rows another advisor is taking right now are skipped rather than waited for.
        conversation = handoff_store.lock_first_queued(_servable(profile))
        if conversation is None:
            raise ProtocolError("queue_empty")
        _take(conversation, actor=actor, reason=Assignment.Reason.ACCEPTED)
        queue_changed(conversation.queue_id)  # type: ignore[arg-type]
        staff_state_notify(profile, load=load + 1)
        return conversation


def conversation_end_staff(*, actor: StaffActor, conversation_id: UUID, outcome: str) -> Conversation:
    with transaction.atomic():
        conversation = conversation_for_staff(actor=actor, conversation_id=conversation_id, action="view")
        if conversation.state == State.CLOSED:
            raise ProtocolError("conversation_closed")
        role = selectors.staff_role_in(conversation=conversation, user_id=actor.user_id)
        if role != "holder" and not actor.is_supervisor:
            raise ProtocolError("not_holder")
        conversation_close(conversation, reason=Conversation.CloseReason.STAFF_ENDED, outcome=outcome)
        return conversation


def requeue(conversation: Conversation, *, queue: Queue, at_head: bool, reason: str, visitor_text: str) -> None:
    previous = conversation.assigned_to_id
    now = timezone.now()
    key = now
    if at_head:
        earliest = selectors.queued_in(queue.pk).aggregate(first=Min("queue_key"))["first"]
        key = min(earliest, now) - timedelta(seconds=1) if earliest else now
    conversation.state = State.QUEUED
    conversation.queue = queue
    conversation.assigned_to = None
    conversation.queue_key = key
    conversation.queued_at = conversation.queued_at or now
    conversation.save(update_fields=["state", "queue", "assigned_to", "queue_key", "queued_at"])
    transfers_cancel(conversation)
    assignments_end(conversation, reason=reason, roles=(Assignment.Role.HOLDER,))
    entry_append(
        conversation,
        kind=Kind.EVENT,
        sender_kind=Sender.SYSTEM,
        event="requeued",
        public=True,
        text=visitor_text,
        data={"reason": reason, "queue": queue.slug, "public": {}},
    )
    if previous is not None:
        staff_unsubscribe(previous, conversation, reason)
        staff_state_notify_for(previous)
    state_notify(conversation)
    queue_changed(queue.pk)


def conversation_requeue(
    *, actor: StaffActor, conversation_id: UUID, queue_slug: str | None, note: str
) -> Conversation:
    with transaction.atomic():
        conversation = conversation_for_staff(actor=actor, conversation_id=conversation_id, action="hold")
        queue = conversation.queue
        if queue_slug is not None:
            queue = Queue.objects.filter(slug=queue_slug).first()
            if queue is None:
                raise ProtocolError("unknown_queue")
        assert queue is not None
        if note:
            note_append(conversation, actor=actor, text=note, written_for="requeue")
        requeue(
            conversation,
            queue=queue,
            at_head=False,
            reason=Assignment.Reason.RETURNED_TO_QUEUE,
            visitor_text="You are being connected to another advisor. Please stay in the chat.",
        )
        return conversation


def transfer_offer(*, actor: StaffActor, conversation_id: UUID, to_user_id: int, note: str) -> Transfer:
    with transaction.atomic():
        conversation = conversation_for_staff(actor=actor, conversation_id=conversation_id, action="hold")
        target = StaffProfile.objects.filter(user_id=to_user_id, user__is_active=True).first()
        now = timezone.now()
        if (
            target is None
            or to_user_id == actor.user_id
            or target.availability != StaffProfile.Availability.ON_SHIFT
            or live_connections(target, now) == 0
            or handoff_store.load(to_user_id) >= target.capacity
        ):
            raise ProtocolError("target_unavailable")
        transfers_cancel(conversation)
        transfer = Transfer.objects.create(
            conversation=conversation, from_user_id=actor.user_id, to_user_id=to_user_id, note=note
        )
        entry_append(
            conversation,
            kind=Kind.NOTE if note else Kind.EVENT,
            sender_kind=actor.sender_kind,
            public=False,
            event="transfer_offered",
            text=note,
            sender_user_id=actor.user_id,
            sender_name=actor.name,
            data={"transfer_id": transfer.pk, "to_user_id": to_user_id, "to_name": target.display_name},
        )
        offered = {
            "transfer_id": transfer.pk,
            "conversation_id": str(conversation.pk),
            "seq": conversation.last_seq,
            "from_user_id": actor.user_id,
            "from_name": actor.name,
            "note": note,
        }
        events.emit_on_commit([(staff_group(to_user_id), {"type": "chat.transfer_offered", "offer": offered})])
        return transfer


def transfer_respond(*, actor: StaffActor, transfer_id: int, accept: bool) -> Transfer:
    with transaction.atomic():
        profile = profile_lock(actor.user_id)
        transfer = Transfer.objects.select_for_update().filter(pk=transfer_id, to_user_id=actor.user_id).first()
        if transfer is None:
            raise ProtocolError("not_found")
        conversation = Conversation.objects.select_for_update().get(pk=transfer.conversation_id)
        if transfer.state != Transfer.State.PENDING or conversation.state not in Conversation.HELD_STATES:
            raise ProtocolError("invalid_state", "That transfer is no longer open.")
        if accept:
            _check_can_hold(profile)
        transfer.state = Transfer.State.ACCEPTED if accept else Transfer.State.DECLINED
        transfer.decided_at = timezone.now()
        transfer.save(update_fields=["state", "decided_at"])
        if accept:
            hand_over(conversation, to=profile, reason="transferred")
        else:
            entry_append(
                conversation,
                kind=Kind.EVENT,
                sender_kind=Sender.SYSTEM,
                event="transfer_declined",
                public=False,
                text=f"{actor.name} declined the transfer.",
                data={"transfer_id": transfer.pk, "user_id": actor.user_id},
            )
        result = {
            "transfer_id": transfer.pk,
            "conversation_id": str(conversation.pk),
            "seq": conversation.last_seq,
            "state": transfer.state,
        }
        events.emit_on_commit(
            [
                (staff_group(u), {"type": "chat.transfer_result", "result": result})
                for u in (transfer.from_user_id, actor.user_id)
            ]
        )
        return transfer


def hand_over(conversation: Conversation, *, to: StaffProfile, reason: str, by_user_id: int | None = None) -> None:
    """Give a held conversation to another advisor (a warm transfer accepted, or a supervisor's
    reassignment): assignment history, the neutral notice to the visitor, everyone's sockets."""
    previous = conversation.assigned_to_id
    assignments_end(conversation, reason=Assignment.Reason.TRANSFERRED, roles=(Assignment.Role.HOLDER,))
    conversation.assigned_to_id = to.user_id
    conversation.save(update_fields=["assigned_to"])
    Assignment.objects.create(
        conversation=conversation,
        user_id=to.user_id,
        role=Assignment.Role.HOLDER,
        start_reason=Assignment.Reason.TRANSFERRED,
    )
    data: dict[str, Any] = {
        "from_user_id": previous,
        "user_id": to.user_id,
        "public": {"advisor_name": to.display_name},
    }
    if by_user_id is not None:
        data["by_user_id"] = by_user_id
    entry_append(
        conversation,
        kind=Kind.EVENT,
        sender_kind=Sender.SYSTEM,
        event="transferred",
        public=True,
        text=f"You are being connected to another advisor. You are now talking to {to.display_name}.",
        data=data,
    )
    staff_subscribe(to.user_id, conversation.pk, "holder")
    if previous is not None:
        staff_unsubscribe(previous, conversation, reason)
        staff_state_notify_for(previous)
    staff_state_notify(to)
    state_notify(conversation)
