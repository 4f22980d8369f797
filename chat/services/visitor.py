"""A visitor's session and chat: hello, connecting and dropping, starting a chat, triage and
ending it.
"""

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chat import hours, reference, triage, visitor_text
from chat.errors import CloseSocket, ProtocolError
from chat.models import Conversation, Message, Queue, Visitor
from chat.services.kernel import conversation_close, entry_append, open_conversation_id, visitor_conversation_locked
from chat.services.notices import queue_changed, state_notify
from chat.services.status import service_status

State = Conversation.State
Sender = Message.Sender
Kind = Message.Kind

IN_DANGER_PRIORITY = 100


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
            entry_append(
                conversation,
                kind=Kind.EVENT,
                sender_kind=Sender.SYSTEM,
                event="visitor_returned",
                text="The visitor is back.",
                public=False,
            )
        state_notify(conversation)
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
        entry_append(
            conversation,
            kind=Kind.EVENT,
            sender_kind=Sender.SYSTEM,
            event="visitor_disconnected",
            text="The visitor's connection dropped; waiting for them to come back.",
            public=False,
            data={"grace_seconds": settings.CHAT["VISITOR_GRACE_SECONDS"]},
        )
        state_notify(conversation)
        return True


def conversation_start(
    *, visitor_id: UUID, conn_id: str, language: str | None = None, channel: str = "web"
) -> Conversation:
    """A new chat in triage. `channel`: how the visitor came in (chat.outlets); a visitor of a
    messaging channel has no socket, and `conn_id` names the channel (no process to watch)."""
    with transaction.atomic():
        if open_conversation_id(visitor_id=visitor_id) is not None:
            raise ProtocolError("conversation_open")
        status = service_status()
        if status["paused"]:
            raise ProtocolError("paused", visitor_text.pause_message(status["message"], language))
        if not hours.is_open():
            raise ProtocolError("closed")
        conversation = Conversation.objects.create(
            visitor_id=visitor_id, state=State.TRIAGE, language=language or "", visitor_conn=conn_id, channel=channel
        )
        entry_append(
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
        conversation = visitor_conversation_locked(visitor_id, conversation_id)
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
        entry_append(
            conversation,
            kind=Kind.EVENT,
            sender_kind=Sender.BOT,
            event="queued",
            public=True,
            text="Thank you. You are in the queue for the next available advisor.",
        )
        state_notify(conversation)
        queue_changed(queue_id)
        return conversation


def conversation_end_visitor(*, visitor_id: UUID, quick_exit: bool) -> Conversation:
    with transaction.atomic():
        conversation = visitor_conversation_locked(visitor_id)
        if quick_exit:
            entry_append(
                conversation,
                kind=Kind.EVENT,
                sender_kind=Sender.SYSTEM,
                event="quick_exit",
                text="The visitor used quick exit.",
                public=False,
            )
        reason = Conversation.CloseReason.QUICK_EXIT if quick_exit else Conversation.CloseReason.VISITOR_ENDED
        conversation_close(conversation, reason=reason, outcome="quick_exit" if quick_exit else "")
        return conversation
