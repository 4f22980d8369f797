"""What every state change of a conversation goes through: the log (`entry_append`), the
permission gates (`visitor_conversation_locked`, `conversation_for_staff`) and closing a chat.

Guarantees:
- An entry is written, with its sequence number, before anything is acknowledged or broadcast;
  broadcasts go out only after the transaction commits (events.emit_on_commit).
- Sequence numbers come from the conversation row, locked for the write, so only writers to
  the same conversation wait for each other.
- Rows are locked in one order: staff profile, then conversation.
"""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.utils import timezone

from agents.audit import record_refusal
from agents.models import StaffProfile
from agents.services import staff_group
from chat import outlets, selectors
from chat.engine import events, handoff_store, log_store, statements
from chat.errors import CloseSocket, ProtocolError
from chat.models import Assignment, Conversation, Message, Transfer
from chat.services.notices import queue_changed, staff_state_notify_for, state_notify

State = Conversation.State
Sender = Message.Sender
Kind = Message.Kind


def open_conversation_id(*, visitor_id: UUID) -> UUID | None:
    return (
        Conversation.objects.filter(visitor_id=visitor_id, state__in=Conversation.OPEN_STATES)
        .order_by("-created_at")
        .values_list("pk", flat=True)
        .first()
    )


def visitor_conversation_locked(visitor_id: UUID, hint: UUID | None = None, *, for_entry: bool = False) -> Conversation:
    """The permission gate for visitors: only their own open conversation, locked. `hint` is the
    chat the socket follows; when it is still the visitor's open chat, no lookup is needed (its
    row is locked and read in one written-out statement, chat.engine.handoff_store). `for_entry`:
    the caller only appends to its log, so that row is read no further than that needs."""
    if hint is not None:
        followed = handoff_store.lock_for_entry(hint) if for_entry else handoff_store.lock(hint)
        if followed is not None and followed.visitor_id == visitor_id and followed.state in Conversation.OPEN_STATES:
            return followed
    conversation_id = open_conversation_id(visitor_id=visitor_id)
    if conversation_id is None:
        raise ProtocolError("no_conversation")
    conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
    if conversation.state == State.CLOSED:
        raise ProtocolError("conversation_closed")
    return conversation


def entry_append(
    conversation: Conversation,
    *,
    kind: str,
    sender_kind: str,
    public: bool,
    text: str = "",
    event: str = "",
    data: dict[str, Any] | None = None,
    sender_user_id: int | None = None,
    sender_name: str = "",
    client_msg_id: str | None = None,
    also_saving: tuple[str, ...] = (),
) -> Message:
    """Append to the log of a conversation whose row the caller has locked, and broadcast the
    entry after commit. `also_saving`: other fields of the conversation (attribute names) the
    caller has changed, saved in the same statement as its new seq."""
    message = log_store.append(
        conversation,
        public=public,
        also_saving=also_saving,
        kind=kind,
        sender_kind=sender_kind,
        client_msg_id=client_msg_id,
        text=text,
        event=event,
        data=data,
        sender_user_id=sender_user_id,
        sender_name=sender_name,
    )
    entry_broadcast(message)
    if message.is_public and conversation.channel != outlets.WEB:
        outlets.entry_for_visitor(channel=conversation.channel, conversation_id=conversation.pk)
    return message


def entry_broadcast(message: Message) -> None:
    """The entry to the chat's staff, and to its visitor when it is public, after commit."""
    staff_entry = selectors.entry_payload(message, audience="staff")
    outgoing: list[events.Event] = [
        (events.conv_staff_group(message.conversation_id), {"type": "chat.entry", "entry": staff_entry})
    ]
    if message.is_public:
        visitor_entry = selectors.entry_payload(message, audience="visitor")
        outgoing.append(
            (events.conv_visitor_group(message.conversation_id), {"type": "chat.entry", "entry": visitor_entry})
        )
    events.emit_on_commit(outgoing)


@dataclass(frozen=True)
class StaffActor:
    user_id: int
    name: str
    is_supervisor: bool

    @property
    def sender_kind(self) -> str:
        return Sender.SUPERVISOR if self.is_supervisor else Sender.ADVISOR


def staff_actor(*, user_id: int) -> StaffActor:
    profile = StaffProfile.objects.select_related("user").filter(user_id=user_id, user__is_active=True).first()
    if profile is None:
        raise CloseSocket("forbidden", 4003, "Not a staff account.")
    return StaffActor(user_id=user_id, name=profile.display_name, is_supervisor=profile.is_supervisor)


def profile_lock(user_id: int) -> StaffProfile:
    profile = statements.lock_one(StaffProfile, "user_id", user_id)
    if profile is None:
        raise StaffProfile.DoesNotExist(f"No staff profile for user {user_id}.")
    return profile


def conversation_for_staff(*, actor: StaffActor, conversation_id: UUID, action: str) -> Conversation:
    """The permission gate for staff, with the conversation row locked.

    action: "view" (in it, or a supervisor), "accept" (queued in a queue they serve),
    "hold" (holder only: end, transfer, requeue), "text" (holder or openly joined
    supervisor), "note" (anyone in it), "whisper" (a supervisor in it), "supervise".
    Conversations a staff member may not see answer `not_found`, whether or not they exist.
    Those refusals (and `forbidden`) go into the audit trail, and stay there when the caller's
    transaction is rolled back.
    """
    try:
        return _conversation_gate(actor=actor, conversation_id=conversation_id, action=action)
    except ProtocolError as refused:
        if refused.code in ("not_found", "forbidden"):
            record_refusal(
                actor_id=actor.user_id,
                resource="conversation",
                attempt=action,
                requested=conversation_id,
                reason=refused.code,
            )
        raise


# The actions that only append to the chat's log: their row is read no further than that needs.
APPENDING = ("text", "note", "whisper")


def _conversation_gate(*, actor: StaffActor, conversation_id: UUID, action: str) -> Conversation:
    if action in APPENDING:
        conversation = handoff_store.lock_for_entry(conversation_id)
    else:
        conversation = handoff_store.lock(conversation_id)
    if conversation is None:
        raise ProtocolError("not_found")
    if action == "accept":
        serves = conversation.queue_id is not None and handoff_store.serves(actor.user_id, conversation.queue_id)
        if not (serves or actor.is_supervisor):
            raise ProtocolError("not_found")
        return conversation
    role = selectors.staff_role_in(conversation=conversation, user_id=actor.user_id)
    in_it = role != "none"
    if not (in_it or actor.is_supervisor):
        raise ProtocolError("not_found")
    if action in ("view", "supervise"):
        if action == "supervise" and not actor.is_supervisor:
            raise ProtocolError("forbidden")
        return conversation
    if conversation.state == State.CLOSED:
        raise ProtocolError("conversation_closed")
    if action == "hold":
        if role != "holder":
            raise ProtocolError("not_holder")
    elif action == "text":
        if role not in ("holder", Assignment.Role.PARTICIPANT):
            raise ProtocolError("not_holder")
    elif action == "note":
        if not in_it:
            raise ProtocolError("forbidden", "Monitor or join the conversation first.")
    elif action == "whisper":
        if not actor.is_supervisor:
            raise ProtocolError("forbidden", "Only supervisors whisper.")
        if not in_it:
            raise ProtocolError("forbidden", "Monitor or join the conversation first.")
    else:  # pragma: no cover - a programming error
        raise ValueError(action)
    return conversation


def assignments_end(
    conversation: Conversation, *, reason: str, roles: tuple[str, ...] | None = None, user_id: int | None = None
) -> list[int]:
    open_ = Assignment.objects.filter(conversation=conversation, ended_at__isnull=True)
    if roles is not None:
        open_ = open_.filter(role__in=roles)
    if user_id is not None:
        open_ = open_.filter(user_id=user_id)
    users = list(open_.values_list("user_id", flat=True))
    open_.update(ended_at=timezone.now(), end_reason=reason)
    return users


def transfers_cancel(conversation: Conversation) -> None:
    for transfer in Transfer.objects.filter(conversation=conversation, state=Transfer.State.PENDING):
        transfer.state = Transfer.State.CANCELLED
        transfer.decided_at = timezone.now()
        transfer.save(update_fields=["state", "decided_at"])
        result = {
            "transfer_id": transfer.pk,
            "conversation_id": str(conversation.pk),
            "seq": conversation.last_seq,
            "state": "cancelled",
        }
        events.emit_on_commit(
            [
                (staff_group(u), {"type": "chat.transfer_result", "result": result})
                for u in (transfer.from_user_id, transfer.to_user_id)
            ]
        )


def conversation_close(conversation: Conversation, *, reason: str, outcome: str = "") -> None:
    queue_id = conversation.queue_id
    was_queued = conversation.state == State.QUEUED
    conversation.state = State.CLOSED
    conversation.closed_at = timezone.now()
    conversation.close_reason = reason
    conversation.outcome = outcome
    conversation.save(update_fields=["state", "closed_at", "close_reason", "outcome"])
    transfers_cancel(conversation)
    entry_append(
        conversation,
        kind=Kind.EVENT,
        sender_kind=Sender.SYSTEM,
        event="closed",
        public=True,
        text="This chat has ended.",
        data={"reason": reason, "outcome": outcome, "public": {}},
    )
    for user_id in assignments_end(conversation, reason=Assignment.Reason.CLOSED):
        staff_state_notify_for(user_id)
    state_notify(conversation)
    if was_queued and queue_id is not None:
        queue_changed(queue_id)


def note_append(conversation: Conversation, *, actor: StaffActor, text: str, written_for: str) -> Message:
    """A staff member's private note, written with something they do to the conversation
    (`written_for`: "requeue", "reassign"), whose row the caller has locked."""
    return entry_append(
        conversation,
        kind=Kind.NOTE,
        sender_kind=actor.sender_kind,
        public=False,
        text=text,
        sender_user_id=actor.user_id,
        sender_name=actor.name,
        data={"for": written_for},
    )
