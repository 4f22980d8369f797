"""Every state change of visitors and conversations.

Guarantees (docs/protocol.md explains them to clients):
- An entry is written, with its sequence number, before anything is acknowledged or broadcast;
  broadcasts go out only after the transaction commits (events.emit_on_commit).
- A resend with a client_msg_id already stored returns the stored entry, never a duplicate.
- Sequence numbers come from the conversation row, locked for the write, so only writers to
  the same conversation wait for each other.
- Accepting is decided under the conversation's row lock: of several advisors accepting at once
  exactly one finds it still queued. Rows are locked in one order: staff profile, then
  conversation.
"""

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import get_language_info

from agents.models import StaffConnection, StaffProfile
from chat import events, handoff_store, hours, log_store, reference, selectors, statements, triage, visitor_text
from chat import language as lang_words
from chat.errors import CloseSocket, ProtocolError
from chat.models import (
    Assignment,
    Conversation,
    Message,
    Queue,
    ServiceStatus,
    ServiceStatusChange,
    Transfer,
    Visitor,
)

State = Conversation.State
Sender = Message.Sender
Kind = Message.Kind

IN_DANGER_PRIORITY = 100


# --- Visitors ---------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _visitor_expiry() -> datetime:
    return timezone.now() + timedelta(hours=float(settings.CHAT["VISITOR_SESSION_HOURS"]))


def visitor_create(*, language: str = "") -> tuple[Visitor, str]:
    """A new anonymous session. The token (256 random bits) is returned once, never stored."""
    token = secrets.token_urlsafe(32)
    visitor = Visitor.objects.create(token_hash=token_hash(token), expires_at=_visitor_expiry(), language=language)
    return visitor, token


def visitor_authenticate(*, token: str) -> Visitor:
    visitor = Visitor.objects.filter(token_hash=token_hash(token)).first()
    if visitor is None:
        raise CloseSocket("invalid_token", 4001)
    if visitor.expires_at <= timezone.now():
        raise CloseSocket("token_expired", 4002)
    Visitor.objects.filter(pk=visitor.pk).update(expires_at=_visitor_expiry())
    return visitor


@dataclass(frozen=True)
class Greeting:
    visitor_id: UUID
    token: str | None  # a new session's token, told once
    conversation_id: UUID | None  # the visitor's open chat, now spoken for by this socket
    service: dict[str, Any]


def visitor_hello(*, token: str | None, conn_id: str, language: str) -> Greeting:
    """A socket's hello: a new session, or an existing one (and its open chat) resumed, with the
    service's state. One call, so an arrival costs one trip to the database thread."""
    if token is None:
        visitor, new_token = visitor_create()
        conversation_id = None  # a new session has no chat yet
    else:
        visitor, new_token = visitor_authenticate(token=token), None
        conversation_id = visitor_connect(visitor_id=visitor.pk, conn_id=conn_id)
    status = service_status()
    service = {
        "paused": status["paused"],
        "message": visitor_text.pause_message(status["message"], language),
        "hours": hours.opening_status(language=language),
    }
    return Greeting(visitor_id=visitor.pk, token=new_token, conversation_id=conversation_id, service=service)


def open_conversation_id(*, visitor_id: UUID) -> UUID | None:
    return (
        Conversation.objects.filter(visitor_id=visitor_id, state__in=Conversation.OPEN_STATES)
        .order_by("-created_at")
        .values_list("pk", flat=True)
        .first()
    )


def _visitor_conversation_locked(visitor_id: UUID, hint: UUID | None = None) -> Conversation:
    """The permission gate for visitors: only their own open conversation, locked. `hint` is the
    chat the socket follows; when it is still the visitor's open chat, no lookup is needed."""
    if hint is not None:
        followed = (
            Conversation.objects.select_for_update()
            .filter(pk=hint, visitor_id=visitor_id, state__in=Conversation.OPEN_STATES)
            .first()
        )
        if followed is not None:
            return followed
    conversation_id = open_conversation_id(visitor_id=visitor_id)
    if conversation_id is None:
        raise ProtocolError("no_conversation")
    conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
    if conversation.state == State.CLOSED:
        raise ProtocolError("conversation_closed")
    return conversation


def visitor_connect(*, visitor_id: UUID, conn_id: str) -> UUID | None:
    """This socket now speaks for the visitor; a visitor coming back within the grace period
    finds everything as it was."""
    with transaction.atomic():
        conversation_id = open_conversation_id(visitor_id=visitor_id)
        if conversation_id is None:
            return None
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        was_away = conversation.visitor_away_since is not None
        conversation.visitor_conn = conn_id
        conversation.visitor_away_since = None
        fields = ["visitor_conn", "visitor_away_since"]
        if conversation.state == State.WAITING_VISITOR:
            conversation.state = State.ACTIVE
            fields.append("state")
        conversation.save(update_fields=fields)
        if was_away:
            _append(
                conversation,
                kind=Kind.EVENT,
                sender_kind=Sender.SYSTEM,
                event="visitor_returned",
                text="The visitor is back.",
                public=False,
            )
        _notify_state(conversation)
        return conversation.pk


def visitor_disconnect(*, visitor_id: UUID, conn_id: str) -> bool:
    """Start the visitor's grace period, unless another socket has already taken over.
    Returns whether a grace period started."""
    with transaction.atomic():
        conversation_id = open_conversation_id(visitor_id=visitor_id)
        if conversation_id is None:
            return False
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        if conversation.visitor_conn != conn_id or conversation.visitor_away_since is not None:
            return False
        conversation.visitor_away_since = timezone.now()
        fields = ["visitor_away_since"]
        if conversation.state == State.ACTIVE:
            conversation.state = State.WAITING_VISITOR
            fields.append("state")
        conversation.save(update_fields=fields)
        _append(
            conversation,
            kind=Kind.EVENT,
            sender_kind=Sender.SYSTEM,
            event="visitor_disconnected",
            text="The visitor's connection dropped; waiting for them to come back.",
            public=False,
            data={"grace_seconds": settings.CHAT["VISITOR_GRACE_SECONDS"]},
        )
        _notify_state(conversation)
        return True


def conversation_start(*, visitor_id: UUID, conn_id: str, language: str | None = None) -> Conversation:
    with transaction.atomic():
        if open_conversation_id(visitor_id=visitor_id) is not None:
            raise ProtocolError("conversation_open")
        status = service_status()
        if status["paused"]:
            raise ProtocolError("paused", visitor_text.pause_message(status["message"], language))
        if not hours.is_open():
            raise ProtocolError("closed")
        conversation = Conversation.objects.create(
            visitor_id=visitor_id, state=State.TRIAGE, language=language or "", visitor_conn=conn_id
        )
        _append(
            conversation,
            kind=Kind.EVENT,
            sender_kind=Sender.BOT,
            event="triage_started",
            public=True,
            text="Hello. Before we connect you, a few quick questions so we can find the right person.",
        )
        return conversation


@reference.memo(ttl=10, models=("chat.queue",))
def _route(about: str) -> int:
    """The id of the queue that serves chats `about` this."""
    for queue in Queue.objects.all():
        if about in queue.about:
            return queue.pk
    default = Queue.objects.filter(is_default=True).first() or Queue.objects.first()
    if default is None:
        raise ProtocolError("unknown_queue", "No queue is configured.")
    return default.pk


def triage_submit(
    *, visitor_id: UUID, answers: Mapping[str, triage.Answer], conversation_id: UUID | None = None
) -> Conversation:
    """Check the answers against the flow and queue the chat where they lead. An answer marked
    'emergency' queues it at the highest priority."""
    result = triage.triage_check(answers=answers)
    with transaction.atomic():
        conversation = _visitor_conversation_locked(visitor_id, conversation_id)
        if conversation.state != State.TRIAGE:
            raise ProtocolError("invalid_state", "Triage is already done.")
        queue_id = _route(result.about)
        now = timezone.now()
        conversation.queue_id = queue_id
        conversation.triage = result.stored()
        conversation.language = result.language or conversation.language or settings.LANGUAGE_CODE
        conversation.region = result.region
        conversation.topic = result.help[0] if result.help else ""
        conversation.priority = IN_DANGER_PRIORITY if result.in_danger else 0
        conversation.state = State.QUEUED
        conversation.queued_at = now
        conversation.queue_key = now
        conversation.save(
            update_fields=[
                "queue",
                "triage",
                "language",
                "region",
                "topic",
                "priority",
                "state",
                "queued_at",
                "queue_key",
            ]
        )
        _append(
            conversation,
            kind=Kind.EVENT,
            sender_kind=Sender.BOT,
            event="queued",
            public=True,
            text="Thank you. You are in the queue for the next available advisor.",
        )
        _notify_state(conversation)
        _queue_changed(queue_id)
        return conversation


# --- The log ----------------------------------------------------------------------------------


def _append(
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
    _broadcast_entry(message)
    return message


def _broadcast_entry(message: Message) -> None:
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


def _text_fast(
    *,
    conversation_id: UUID,
    client_msg_id: str,
    text: str,
    sender_kind: str,
    visitor_id: UUID | None = None,
    actor: "StaffActor | None" = None,
) -> tuple[Message, str] | None:
    """A public text message in the common case (chat.log_store), broadcast after commit, with
    the chat's detected language; None when the chat is not in that case (nothing written)."""
    taken = log_store.take_public_seq(
        conversation_id=conversation_id, visitor_id=visitor_id, holder_id=actor.user_id if actor else None
    )
    if taken is None:
        return None
    seq, public_seq, detected_language = taken
    message = log_store.insert_text(
        conversation_id=conversation_id,
        seq=seq,
        public_seq=public_seq,
        client_msg_id=client_msg_id,
        sender_kind=sender_kind,
        text=text,
        sender_user_id=actor.user_id if actor else None,
        sender_name=actor.name if actor else "",
    )
    _broadcast_entry(message)
    return message, detected_language


# A message sent again with its client_msg_id (the reply to the first send was lost) is not looked
# for before each insert: the insert meets the unique constraint, the transaction is rolled back,
# and the stored message is answered with `duplicate: true`.


def _existing(
    conversation_id: UUID, client_msg_id: str, *, sender_kind: str, sender_user_id: int | None
) -> Message | None:
    message = Message.objects.filter(conversation_id=conversation_id, client_msg_id=client_msg_id).first()
    if message is None:
        return None
    if message.sender_kind != sender_kind or message.sender_user_id != sender_user_id:
        raise ProtocolError("duplicate_client_id")
    return message


def _stored_or_raise(
    conversation_id: UUID, client_msg_id: str, exc: IntegrityError, sender_kind: str, sender_user_id: int | None
) -> Message:
    stored = _existing(conversation_id, client_msg_id, sender_kind=sender_kind, sender_user_id=sender_user_id)
    if stored is None:
        raise exc
    return stored


@dataclass(frozen=True)
class Sent:
    message: Message
    duplicate: bool
    # The caller should detect the text's language (off the database thread) and record it with
    # conversation_language_detected: one of the visitor's first messages, language not yet known.
    detect_language: bool = False

    def result(self, *, audience: str) -> dict[str, Any]:
        seq = self.message.public_seq if audience == "visitor" else self.message.seq
        return {
            "conversation_id": str(self.message.conversation_id),
            "seq": seq,
            "client_msg_id": self.message.client_msg_id,
            "created_at": self.message.created_at.isoformat(),
            "duplicate": self.duplicate,
        }


def message_send_visitor(
    *, visitor_id: UUID, client_msg_id: str, text: str, conversation_id: UUID | None = None
) -> Sent:
    sender_kind, user_id = Sender.VISITOR, None
    written_to = conversation_id
    try:
        with transaction.atomic():
            fast = None
            if conversation_id is not None:
                fast = _text_fast(
                    conversation_id=conversation_id,
                    client_msg_id=client_msg_id,
                    text=text,
                    sender_kind=sender_kind,
                    visitor_id=visitor_id,
                )
            if fast is not None:
                message, detected_language = fast
            else:
                conversation = _visitor_conversation_locked(visitor_id, conversation_id)
                written_to = conversation.pk
                if conversation.state == State.TRIAGE:
                    raise ProtocolError("invalid_state", "Finish the questions first.")
                message = _append(
                    conversation,
                    kind=Kind.TEXT,
                    sender_kind=sender_kind,
                    public=True,
                    text=text,
                    client_msg_id=client_msg_id,
                )
                detected_language = conversation.detected_language
            # Decided from the row already locked: no query on every message of the chat.
            detect = not detected_language and (message.public_seq or 0) <= DETECT_WITHIN_ENTRIES
            return Sent(message, duplicate=False, detect_language=detect)
    except IntegrityError as exc:
        assert written_to is not None
        return Sent(_stored_or_raise(written_to, client_msg_id, exc, sender_kind, user_id), duplicate=True)


# The visitor's messages among the chat's first entries (the greeting, the queue notices and the
# advisor's hello take a few) are read until one gives a clear language: short openings ("hi",
# "hello?") say nothing, and a few messages in, a language usually shows.
DETECT_WITHIN_ENTRIES = 10


def _language_name(code: str) -> str:
    """In English, for staff (the visitor's widget names languages in their own words)."""
    try:
        return str(get_language_info(code)["name"])
    except KeyError:
        return code


def conversation_language_detected(*, conversation_id: UUID, language: str | None) -> None:
    """Record the language detected in the visitor's words. When it differs from the chat's
    language and the widget offers it, the visitor is asked (an entry the widget turns into a
    "Switch to ...?" button); the advisor is told either way."""
    if not language:
        return
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        if conversation.detected_language or conversation.state == State.CLOSED:
            return
        conversation.detected_language = language
        conversation.save(update_fields=["detected_language"])
        _notify_state(conversation)
        if language == (conversation.language or settings.LANGUAGE_CODE):
            return  # as expected: the summary says so, the log need not
        offered = language in dict(settings.LANGUAGES)
        _append(
            conversation,
            kind=Kind.EVENT,
            sender_kind=Sender.SYSTEM,
            event="language_suggested" if offered else "language_detected",
            public=offered,
            text=lang_words.suggestion_text(language)
            if offered
            else f"The visitor seems to write in {_language_name(language)} ({language}).",
            data={"language": language, "public": {"language": language}},
        )


def _language_changed(conversation: Conversation) -> None:
    """Staff see the new language in the summary, and in the queue while it waits."""
    _notify_state(conversation)
    if conversation.state == State.QUEUED and conversation.queue_id is not None:
        _queue_changed(conversation.queue_id)


def conversation_language_set(*, visitor_id: UUID, language: str) -> Conversation:
    """The visitor chose the chat's language during the chat (routing and the advisor follow)."""
    if language not in triage.offered_languages():
        raise ProtocolError("unknown_language")
    with transaction.atomic():
        conversation = _visitor_conversation_locked(visitor_id)
        if conversation.language == language:
            return conversation
        conversation.language = language
        conversation.save(update_fields=["language"])
        _append(
            conversation,
            kind=Kind.EVENT,
            sender_kind=Sender.SYSTEM,  # a notice in the log, not something the visitor wrote
            event="language_set",
            public=False,
            text=f"The visitor switched the chat to {_language_name(language)} ({language}).",
            data={"language": language},
        )
        _language_changed(conversation)
        return conversation


def visitor_receipt(*, visitor_id: UUID, seq: int, status: str) -> None:
    """Receipts only move forward; the staff side hears of them in its own numbering."""
    conversation_id = open_conversation_id(visitor_id=visitor_id)
    if conversation_id is None:
        raise ProtocolError("no_conversation")
    field = "visitor_read_seq" if status == "read" else "visitor_delivered_seq"
    filters = {"pk": conversation_id, "last_public_seq__gte": seq, f"{field}__lt": seq}
    updated = Conversation.objects.filter(**filters).update(**{field: seq})
    if status == "read":
        Conversation.objects.filter(pk=conversation_id, visitor_delivered_seq__lt=seq, last_public_seq__gte=seq).update(
            visitor_delivered_seq=seq
        )
    if not updated:
        return
    staff_seq = (
        Message.objects.filter(conversation_id=conversation_id, public_seq=seq).values_list("seq", flat=True).first()
    )
    if staff_seq is None:
        return
    events.send_now(
        [
            (
                events.conv_staff_group(conversation_id),
                {
                    "type": "chat.receipt",
                    "receipt": {
                        "conversation_id": str(conversation_id),
                        "seq": staff_seq,
                        "status": status,
                        "by": "visitor",
                    },
                },
            )
        ]
    )


def conversation_end_visitor(*, visitor_id: UUID, quick_exit: bool) -> Conversation:
    with transaction.atomic():
        conversation = _visitor_conversation_locked(visitor_id)
        if quick_exit:
            _append(
                conversation,
                kind=Kind.EVENT,
                sender_kind=Sender.SYSTEM,
                event="quick_exit",
                text="The visitor used quick exit.",
                public=False,
            )
        reason = Conversation.CloseReason.QUICK_EXIT if quick_exit else Conversation.CloseReason.VISITOR_ENDED
        _close(conversation, reason=reason, outcome="quick_exit" if quick_exit else "")
        return conversation


# --- State broadcasts -------------------------------------------------------------------------


def _notify_state(conversation: Conversation, *, final_holder: str = "") -> None:
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


def _queue_changed(queue_id: int, *, staff: bool = True) -> None:
    """After commit: every queued visitor's new position, and (with `staff`) the queue to the
    staff serving it (coalesced: see chat.queueing)."""
    from chat import queueing

    transaction.on_commit(lambda: queueing.refresh(queue_id, staff=staff))


def queue_broadcast_events(queue_id: int, *, staff: bool = True, visitors: bool = True) -> list[events.Event]:
    """The queue as it is now: the snapshot for its staff first (with `staff`), then each queued
    visitor's position (with `visitors`)."""
    outgoing: list[events.Event] = []
    if staff:
        queue = Queue.objects.filter(pk=queue_id).first()
        if queue is None:
            return []
        snapshot = selectors.fresh_queue_snapshot(queue)
        # Serialised once here, not once per console: every advisor serving the queue gets it
        # (chat.queueing writes it to each process's consoles).
        group = events.queue_group(queue.slug)
        outgoing.append((group, {"type": "chat.queue", "group": group, "frame": events.frame(snapshot)}))
    if visitors:  # none for a queue that is gone
        for status in selectors.queue_positions(queue_id):
            outgoing.append(
                (events.conv_visitor_group(status["conversation_id"]), {"type": "chat.status", "status": status})
            )
    return outgoing


def queue_broadcast(queue_id: int, *, staff: bool = True) -> None:
    events.send_now(queue_broadcast_events(queue_id, staff=staff))


def _subscribe(user_id: int, conversation_id: UUID, role: str) -> None:
    events.emit_on_commit(
        [
            (
                events.staff_group(user_id),
                {"type": "chat.subscribe", "conversation_id": str(conversation_id), "role": role},
            )
        ]
    )


def _unsubscribe(user_id: int, conversation: Conversation, reason: str) -> None:
    events.emit_on_commit(
        [
            (
                events.staff_group(user_id),
                {
                    "type": "chat.unsubscribe",
                    "conversation_id": str(conversation.pk),
                    "seq": conversation.last_seq,
                    "reason": reason,
                },
            )
        ]
    )


def _staff_state(profile: StaffProfile, *, load: int | None = None) -> None:
    """After commit: the staff member's availability, load and capacity, to them and to the
    supervisors. Read at commit; with `load` (the caller holds the profile's row locked and
    knows the load it leaves), built now."""
    user_id = profile.user_id

    def events_of(state: dict[str, Any]) -> list[events.Event]:
        event = {"type": "chat.staff_state", "state": state}
        return [(events.staff_group(user_id), event), (events.SUPERVISORS_GROUP, event)]

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


# --- Staff ------------------------------------------------------------------------------------


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


def _lock_profile(user_id: int) -> StaffProfile:
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
            from risk.audit import record_refusal

            record_refusal(
                actor_id=actor.user_id,
                resource="conversation",
                attempt=action,
                requested=conversation_id,
                reason=refused.code,
            )
        raise


def _conversation_gate(*, actor: StaffActor, conversation_id: UUID, action: str) -> Conversation:
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


def staff_connect(*, user_id: int, channel_name: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        profile = _lock_profile(user_id)
        StaffConnection.objects.update_or_create(
            channel_name=channel_name, defaults={"profile": profile, "seen_at": now}
        )
        if profile.disconnected_at is not None:
            profile.disconnected_at = None
            profile.save(update_fields=["disconnected_at"])


def staff_heartbeat(*, channel_name: str) -> None:
    StaffConnection.objects.filter(channel_name=channel_name).update(seen_at=timezone.now())


def _live_connections(profile: StaffProfile, now: datetime) -> int:
    horizon = now - timedelta(seconds=float(settings.CHAT["STAFF_HEARTBEAT_TIMEOUT_SECONDS"]))
    return profile.connections.filter(seen_at__gt=horizon).count()


def staff_disconnect(*, user_id: int, channel_name: str) -> bool:
    """Returns whether this was the last live socket (so the advisor's grace period started)."""
    now = timezone.now()
    with transaction.atomic():
        profile = _lock_profile(user_id)
        StaffConnection.objects.filter(channel_name=channel_name).delete()
        if _live_connections(profile, now) == 0 and profile.disconnected_at is None:
            profile.disconnected_at = now
            profile.save(update_fields=["disconnected_at"])
            return True
        return False


def availability_set(*, actor: StaffActor, availability: str) -> dict[str, Any]:
    with transaction.atomic():
        profile = _lock_profile(actor.user_id)
        profile.availability = availability
        profile.save(update_fields=["availability"])
        _staff_state(profile)
        for queue_id in profile.queues.values_list("pk", flat=True):
            _queue_changed(queue_id, staff=False)  # the estimated waits change with the staff on shift
    return staff_state(user_id=actor.user_id)


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
    _append(
        conversation,
        kind=Kind.EVENT,
        sender_kind=Sender.SYSTEM,
        event="assigned",
        public=True,
        text=f"You are now talking to {actor.name}.",
        data={"user_id": actor.user_id, "reason": reason, "public": {"advisor_name": actor.name}},
        also_saving=("state", "assigned_to_id", "accepted_at"),
    )
    _subscribe(actor.user_id, conversation.pk, "holder")
    _notify_state(conversation, final_holder=actor.name)


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
        profile = _lock_profile(actor.user_id)
        load = _check_can_hold(profile)
        conversation = conversation_for_staff(actor=actor, conversation_id=conversation_id, action="accept")
        if conversation.state == State.CLOSED:
            raise ProtocolError("conversation_closed")
        if conversation.state != State.QUEUED:
            raise ProtocolError("already_taken") if conversation.assigned_to_id else ProtocolError("invalid_state")
        _take(conversation, actor=actor, reason=Assignment.Reason.ACCEPTED)
        _queue_changed(conversation.queue_id)  # type: ignore[arg-type]
        _staff_state(profile, load=load + 1)
        return conversation


def _speaks(languages: list[str] | None) -> set[str]:
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
        covered.setdefault(queue_id, set()).update(_speaks(languages))
    return {queue_id: frozenset(codes) for queue_id, codes in covered.items()}


def _servable(profile: StaffProfile) -> list[UUID]:
    """Queued chats this advisor should take next, in queue order: those in a language they
    speak, those in a language no advisor on shift in that queue speaks (then the advisor is told
    and can ask for an interpreter), and any that has waited LANGUAGE_WAIT_SECONDS for a speaker."""
    own = _speaks(profile.languages)
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
        profile = _lock_profile(actor.user_id)
        load = _check_can_hold(profile)
        # Rows another advisor is taking right now are skipped rather than waited for.
        conversation = handoff_store.lock_first_queued(_servable(profile))
        if conversation is None:
            raise ProtocolError("queue_empty")
        _take(conversation, actor=actor, reason=Assignment.Reason.ACCEPTED)
        _queue_changed(conversation.queue_id)  # type: ignore[arg-type]
        _staff_state(profile, load=load + 1)
        return conversation


def message_send_staff(*, actor: StaffActor, conversation_id: UUID, client_msg_id: str, text: str, kind: str) -> Sent:
    sender_kind, user_id = actor.sender_kind, actor.user_id
    try:
        with transaction.atomic():
            if kind == "text":
                fast = _text_fast(
                    conversation_id=conversation_id,
                    client_msg_id=client_msg_id,
                    text=text,
                    sender_kind=sender_kind,
                    actor=actor,
                )
                if fast is not None:
                    return Sent(fast[0], duplicate=False)
            action = {"text": "text", "note": "note", "whisper": "whisper"}[kind]
            conversation = conversation_for_staff(actor=actor, conversation_id=conversation_id, action=action)
            if kind == "text" and conversation.state not in Conversation.HELD_STATES:
                # A console sending again what it sent while the chat was held is told it was stored.
                stored = _existing(conversation.pk, client_msg_id, sender_kind=sender_kind, sender_user_id=user_id)
                if stored is not None:
                    return Sent(stored, duplicate=True)
                raise ProtocolError("invalid_state")
            message = _append(
                conversation,
                kind=kind,
                sender_kind=sender_kind,
                public=(kind == "text"),
                text=text,
                client_msg_id=client_msg_id,
                sender_user_id=user_id,
                sender_name=actor.name,
            )
            return Sent(message, duplicate=False)
    except IntegrityError as exc:
        return Sent(_stored_or_raise(conversation_id, client_msg_id, exc, sender_kind, user_id), duplicate=True)


@dataclass(frozen=True)
class TranslationJob:
    text: str
    source: str
    target: str


def translation_job(
    *, actor: StaffActor, conversation_id: UUID, seq: int | None, text: str | None, target: str | None
) -> TranslationJob:
    """What to translate for a staff member, through the conversation's gate: an entry they may
    see (into their own language), or their draft (into the conversation's language)."""
    with transaction.atomic():
        conversation = conversation_for_staff(actor=actor, conversation_id=conversation_id, action="view")
        mine = sorted(_speaks(StaffProfile.objects.get(user_id=actor.user_id).languages))
        own = settings.LANGUAGE_CODE if settings.LANGUAGE_CODE in mine else mine[0]
        chat_language = conversation.language or settings.LANGUAGE_CODE
        if text is not None:
            return TranslationJob(text=text, source=own, target=target or chat_language)
        message = Message.objects.filter(conversation=conversation, seq=seq or 0, kind=Kind.TEXT).first()
        if message is None or not message.text:
            raise ProtocolError("not_found", "No text entry with that seq in this conversation.")
        # A visitor's words are in the chat's language (or the one detected); staff text may be any.
        visitor = message.sender_kind == Sender.VISITOR
        source = (conversation.detected_language or chat_language) if visitor else "auto"
        return TranslationJob(text=message.text, source=source, target=target or own)


def staff_receipt(*, actor: StaffActor, conversation_id: UUID, seq: int) -> None:
    with transaction.atomic():
        conversation = conversation_for_staff(actor=actor, conversation_id=conversation_id, action="view")
        if conversation.assigned_to_id != actor.user_id:
            return  # monitors read silently
        public_seq = (
            Message.objects.filter(conversation=conversation, seq__lte=seq, public_seq__isnull=False)
            .order_by("-seq")
            .values_list("public_seq", flat=True)
            .first()
        )
        if public_seq is None or public_seq <= conversation.staff_read_seq:
            return
        Conversation.objects.filter(pk=conversation.pk).update(staff_read_seq=public_seq)
        events.emit_on_commit(
            [
                (
                    events.conv_visitor_group(conversation.pk),
                    {
                        "type": "chat.receipt",
                        "receipt": {
                            "conversation_id": str(conversation.pk),
                            "seq": public_seq,
                            "status": "read",
                            "by": "staff",
                        },
                    },
                )
            ]
        )


def _end_assignments(
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


def _cancel_transfers(conversation: Conversation) -> None:
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
                (events.staff_group(u), {"type": "chat.transfer_result", "result": result})
                for u in (transfer.from_user_id, transfer.to_user_id)
            ]
        )


def _close(conversation: Conversation, *, reason: str, outcome: str = "") -> None:
    queue_id = conversation.queue_id
    was_queued = conversation.state == State.QUEUED
    conversation.state = State.CLOSED
    conversation.closed_at = timezone.now()
    conversation.close_reason = reason
    conversation.outcome = outcome
    conversation.save(update_fields=["state", "closed_at", "close_reason", "outcome"])
    _cancel_transfers(conversation)
    _append(
        conversation,
        kind=Kind.EVENT,
        sender_kind=Sender.SYSTEM,
        event="closed",
        public=True,
        text="This chat has ended.",
        data={"reason": reason, "outcome": outcome, "public": {}},
    )
    for user_id in _end_assignments(conversation, reason=Assignment.Reason.CLOSED):
        _staff_state_for(user_id)
    _notify_state(conversation)
    if was_queued and queue_id is not None:
        _queue_changed(queue_id)


def _staff_state_for(user_id: int) -> None:
    profile = StaffProfile.objects.filter(user_id=user_id).first()
    if profile is not None:
        _staff_state(profile)


def conversation_end_staff(*, actor: StaffActor, conversation_id: UUID, outcome: str) -> Conversation:
    with transaction.atomic():
        conversation = conversation_for_staff(actor=actor, conversation_id=conversation_id, action="view")
        if conversation.state == State.CLOSED:
            raise ProtocolError("conversation_closed")
        role = selectors.staff_role_in(conversation=conversation, user_id=actor.user_id)
        if role != "holder" and not actor.is_supervisor:
            raise ProtocolError("not_holder")
        _close(conversation, reason=Conversation.CloseReason.STAFF_ENDED, outcome=outcome)
        return conversation


def _requeue(conversation: Conversation, *, queue: Queue, at_head: bool, reason: str, visitor_text: str) -> None:
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
    _cancel_transfers(conversation)
    _end_assignments(conversation, reason=reason, roles=(Assignment.Role.HOLDER,))
    _append(
        conversation,
        kind=Kind.EVENT,
        sender_kind=Sender.SYSTEM,
        event="requeued",
        public=True,
        text=visitor_text,
        data={"reason": reason, "queue": queue.slug, "public": {}},
    )
    if previous is not None:
        _unsubscribe(previous, conversation, reason)
        _staff_state_for(previous)
    _notify_state(conversation)
    _queue_changed(queue.pk)


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
            _append(
                conversation,
                kind=Kind.NOTE,
                sender_kind=actor.sender_kind,
                public=False,
                text=note,
                sender_user_id=actor.user_id,
                sender_name=actor.name,
                data={"for": "requeue"},
            )
        _requeue(
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
            or _live_connections(target, now) == 0
            or handoff_store.load(to_user_id) >= target.capacity
        ):
            raise ProtocolError("target_unavailable")
        _cancel_transfers(conversation)
        transfer = Transfer.objects.create(
            conversation=conversation, from_user_id=actor.user_id, to_user_id=to_user_id, note=note
        )
        _append(
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
        events.emit_on_commit([(events.staff_group(to_user_id), {"type": "chat.transfer_offered", "offer": offered})])
        return transfer


def transfer_respond(*, actor: StaffActor, transfer_id: int, accept: bool) -> Transfer:
    with transaction.atomic():
        profile = _lock_profile(actor.user_id)
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
            _hand_over(conversation, to=profile, reason="transferred")
        else:
            _append(
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
                (events.staff_group(u), {"type": "chat.transfer_result", "result": result})
                for u in (transfer.from_user_id, actor.user_id)
            ]
        )
        return transfer


def _hand_over(conversation: Conversation, *, to: StaffProfile, reason: str, by_user_id: int | None = None) -> None:
    """Give a held conversation to another advisor (a warm transfer accepted, or a supervisor's
    reassignment): assignment history, the neutral notice to the visitor, everyone's sockets."""
    previous = conversation.assigned_to_id
    _end_assignments(conversation, reason=Assignment.Reason.TRANSFERRED, roles=(Assignment.Role.HOLDER,))
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
    _append(
        conversation,
        kind=Kind.EVENT,
        sender_kind=Sender.SYSTEM,
        event="transferred",
        public=True,
        text=f"You are being connected to another advisor. You are now talking to {to.display_name}.",
        data=data,
    )
    _subscribe(to.user_id, conversation.pk, "holder")
    if previous is not None:
        _unsubscribe(previous, conversation, reason)
        _staff_state_for(previous)
    _staff_state(to)
    _notify_state(conversation)


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
            _end_assignments(
                conversation,
                reason=Assignment.Reason.LEFT,
                user_id=actor.user_id,
                roles=(Assignment.Role.MONITOR, Assignment.Role.PARTICIPANT),
            )
            _append(
                conversation,
                kind=Kind.EVENT,
                sender_kind=Sender.SYSTEM,
                event="supervisor_left",
                public=current.role == Assignment.Role.PARTICIPANT,
                text=f"{actor.name} left the chat.",
                data={"user_id": actor.user_id, "public": {}},
            )
            _unsubscribe(actor.user_id, conversation, "left")
            return conversation
        role = Assignment.Role.MONITOR if mode == "monitor" else Assignment.Role.PARTICIPANT
        if current is not None and current.role == role:
            return conversation
        if current is not None:
            _end_assignments(conversation, reason=Assignment.Reason.LEFT, user_id=actor.user_id, roles=(current.role,))
        Assignment.objects.create(
            conversation=conversation,
            user_id=actor.user_id,
            role=role,
            start_reason=Assignment.Reason.MONITORED if mode == "monitor" else Assignment.Reason.JOINED,
        )
        if mode == "monitor":
            _append(
                conversation,
                kind=Kind.EVENT,
                sender_kind=Sender.SYSTEM,
                event="monitor_started",
                public=False,
                text=f"{actor.name} is monitoring this chat.",
                data={"user_id": actor.user_id},
            )
        else:
            _append(
                conversation,
                kind=Kind.EVENT,
                sender_kind=Sender.SYSTEM,
                event="supervisor_joined",
                public=True,
                text=f"A supervisor, {actor.name}, has joined the chat.",
                data={"user_id": actor.user_id, "public": {"name": actor.name}},
            )
        _subscribe(actor.user_id, conversation.pk, role)
        return conversation


# --- Grace periods ----------------------------------------------------------------------------


def grace_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Idempotent; run after each disconnect's grace period and every few seconds by beat.

    Visitors gone past their grace period: their conversation closes. Console sockets silent
    past the heartbeat timeout (their process died) stop counting. Advisors with no live
    socket past their grace period: their chats go back to the head of the queue.
    """
    now = now or timezone.now()
    visitor_cutoff = now - timedelta(seconds=float(settings.CHAT["VISITOR_GRACE_SECONDS"]))
    advisor_cutoff = now - timedelta(seconds=float(settings.CHAT["ADVISOR_GRACE_SECONDS"]))
    heartbeat_cutoff = now - timedelta(seconds=float(settings.CHAT["STAFF_HEARTBEAT_TIMEOUT_SECONDS"]))
    closed = requeued = 0
    _visitors_of_dead_processes_away()

    gone = Conversation.objects.filter(state__in=Conversation.OPEN_STATES, visitor_away_since__lte=visitor_cutoff)
    for conversation_id in gone.values_list("pk", flat=True):
        with transaction.atomic():
            conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
            if (
                conversation.state == State.CLOSED
                or conversation.visitor_away_since is None
                or conversation.visitor_away_since > visitor_cutoff
            ):
                continue
            _close(conversation, reason=Conversation.CloseReason.VISITOR_LEFT, outcome="visitor_left")
            closed += 1

    for stale in StaffConnection.objects.filter(seen_at__lte=heartbeat_cutoff).select_related("profile"):
        with transaction.atomic():
            profile = _lock_profile(stale.profile.user_id)
            StaffConnection.objects.filter(pk=stale.pk).delete()
            if profile.disconnected_at is None and _live_connections(profile, now) == 0:
                profile.disconnected_at = stale.seen_at
                profile.save(update_fields=["disconnected_at"])

    dropped = StaffProfile.objects.filter(disconnected_at__lte=advisor_cutoff)
    for user_id in dropped.values_list("user_id", flat=True):
        with transaction.atomic():
            profile = _lock_profile(user_id)
            if profile.disconnected_at is None or profile.disconnected_at > advisor_cutoff:
                continue
            if _live_connections(profile, now) > 0:
                continue
            for conversation in Conversation.objects.select_for_update().filter(
                assigned_to_id=user_id, state__in=Conversation.HELD_STATES
            ):
                assert conversation.queue is not None
                _requeue(
                    conversation,
                    queue=conversation.queue,
                    at_head=True,
                    reason=Assignment.Reason.ADVISOR_DISCONNECTED,
                    visitor_text="Your advisor lost their connection. You are first in line for the next advisor.",
                )
                requeued += 1
            for transfer in Transfer.objects.filter(to_user_id=user_id, state=Transfer.State.PENDING):
                _cancel_transfers(Conversation.objects.select_for_update().get(pk=transfer.conversation_id))
            Assignment.objects.filter(user_id=user_id, ended_at__isnull=True).exclude(
                role=Assignment.Role.HOLDER
            ).update(ended_at=now, end_reason=Assignment.Reason.LEFT)
            profile.disconnected_at = None
            profile.availability = StaffProfile.Availability.AWAY
            profile.save(update_fields=["disconnected_at", "availability"])
            for queue_id in profile.queues.values_list("pk", flat=True):
                _queue_changed(queue_id, staff=False)  # fewer on shift: longer waits
    return {"closed": closed, "requeued": requeued}


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
        _cancel_transfers(conversation)
        if note:
            _append(
                conversation,
                kind=Kind.NOTE,
                sender_kind=actor.sender_kind,
                public=False,
                text=note,
                sender_user_id=actor.user_id,
                sender_name=actor.name,
                data={"for": "reassign"},
            )
        _hand_over(conversation, to=target, reason="reassigned", by_user_id=actor.user_id)
        return conversation


def _visitors_of_dead_processes_away() -> None:
    """Start the grace period of visitors whose socket's server process has died."""
    from chat import presence

    connected = Conversation.objects.filter(
        state__in=Conversation.OPEN_STATES, visitor_away_since__isnull=True
    ).exclude(visitor_conn="")
    by_process: dict[str, list[tuple[UUID, str]]] = {}
    for conversation_id, conn_id in connected.values_list("pk", "visitor_conn"):
        process = presence.process_of(conn_id)
        if process is not None and process != presence.PROCESS_ID:
            by_process.setdefault(process, []).append((conversation_id, conn_id))
    for process in presence.dead_processes(set(by_process)):
        for conversation_id, conn_id in by_process[process]:
            visitor_id = Conversation.objects.filter(pk=conversation_id).values_list("visitor_id", flat=True).first()
            if visitor_id is not None:
                visitor_disconnect(visitor_id=visitor_id, conn_id=conn_id)


def idle_close(*, now: datetime | None = None) -> int:
    """Close chats in triage or with an advisor where nobody has written for the idle period.
    Queued chats are never closed for silence: the visitor is waiting for us."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=float(settings.CHAT["IDLE_CLOSE_MINUTES"]))
    idle = (
        Conversation.objects.filter(state__in=(State.TRIAGE, State.ACTIVE, State.WAITING_VISITOR))
        .annotate(last_entry=Max("messages__created_at"))
        .filter(last_entry__lt=cutoff)
        .values_list("pk", flat=True)
    )
    closed = 0
    for conversation_id in list(idle):
        with transaction.atomic():
            conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
            last = conversation.messages.aggregate(last=Max("created_at"))["last"]
            if conversation.state not in (State.TRIAGE, State.ACTIVE, State.WAITING_VISITOR) or (
                last and last >= cutoff
            ):
                continue
            _close(conversation, reason=Conversation.CloseReason.IDLE, outcome="")
            closed += 1
    return closed


DEFAULT_PAUSE_MESSAGE = visitor_text.DEFAULT_PAUSE_MESSAGE


@reference.memo(ttl=2, models=("chat.servicestatus",))
def service_status() -> dict[str, Any]:
    """Whether new chats may start (the surge pause), and what visitors are told if not.
    Cached (chat.reference): other processes see a pause within two seconds."""
    status = ServiceStatus.objects.select_related("changed_by__staff").filter(pk=1).first()
    if status is None:
        return {"paused": False, "message": "", "changed_at": None, "changed_by": ""}
    by = status.changed_by
    return {
        "paused": status.paused,
        "message": (status.message or DEFAULT_PAUSE_MESSAGE) if status.paused else "",
        "changed_at": status.changed_at.isoformat() if status.changed_at else None,
        "changed_by": getattr(getattr(by, "staff", None), "display_name", "") if by else "",
    }


def service_pause_set(*, actor: StaffActor, paused: bool, message: str) -> dict[str, Any]:
    """Supervisors: pause or resume new chats. Chats already queued or under way carry on."""
    if not actor.is_supervisor:
        raise ProtocolError("forbidden")
    with transaction.atomic():
        status, _ = ServiceStatus.objects.select_for_update().get_or_create(pk=1)
        status.paused = paused
        status.message = message.strip()
        status.changed_at = timezone.now()
        status.changed_by_id = actor.user_id
        status.save()
        ServiceStatusChange.objects.create(paused=paused, message=status.message, changed_by_id=actor.user_id)

        def send() -> None:
            events.send_now([(events.SUPERVISORS_GROUP, {"type": "chat.service_status", "status": service_status()})])

        transaction.on_commit(send)
    return service_status()


def retention_purge(*, now: datetime | None = None) -> int:
    """Erase old chats never attached to a case, keeping their anonymous statistics
    (chat.retention says exactly what goes). Idempotent."""
    from chat.retention import retention_purge as purge

    return purge(now=now)
