"""Messages in the log: sending (the visitor's and staff's), receipts, the chat's language and
what staff ask to translate.

A resend with a client_msg_id already stored returns the stored entry, never a duplicate.
"""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import get_language_info

from agents.models import StaffProfile
from chat import language as lang_words
from chat import triage
from chat.engine import events
from chat.errors import ProtocolError
from chat.models import Conversation, Message
from chat.services.handoff import speaks
from chat.services.kernel import (
    StaffActor,
    conversation_for_staff,
    entry_append,
    open_conversation_id,
    visitor_conversation_locked,
)
from chat.services.notices import queue_changed, state_notify

State = Conversation.State
Sender = Message.Sender
Kind = Message.Kind


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


# The visitor's messages among the chat's first entries (the greeting, the queue notices and the
# advisor's hello take a few) are read until one gives a clear language: short openings ("hi",
# "hello?") say nothing, and a few messages in, a language usually shows.
DETECT_WITHIN_ENTRIES = 10


def message_send_visitor(
    *, visitor_id: UUID, client_msg_id: str, text: str, conversation_id: UUID | None = None
) -> Sent:
    """The visitor's message in their open chat past triage: through the visitor's gate, then
    appended to the log (three statements when the socket's chat is the open one: the row
    locked and read, its numbers, the entry)."""
    sender_kind = Sender.VISITOR
    written_to = conversation_id
    try:
        with transaction.atomic():
            conversation = visitor_conversation_locked(visitor_id, conversation_id, for_entry=True)
            written_to = conversation.pk
            if conversation.state == State.TRIAGE:
                raise ProtocolError("invalid_state", "Finish the questions first.")
            message = entry_append(
                conversation,
                kind=Kind.TEXT,
                sender_kind=sender_kind,
                public=True,
                text=text,
                client_msg_id=client_msg_id,
            )
            # Decided from the row already locked: no query on every message of the chat.
            detect = not conversation.detected_language and (message.public_seq or 0) <= DETECT_WITHIN_ENTRIES
            return Sent(message, duplicate=False, detect_language=detect)
    except IntegrityError as exc:
        assert written_to is not None
        return Sent(_stored_or_raise(written_to, client_msg_id, exc, sender_kind, None), duplicate=True)


def message_send_staff(*, actor: StaffActor, conversation_id: UUID, client_msg_id: str, text: str, kind: str) -> Sent:
    """A staff member's text (public), note or whisper: through the staff gate, then appended to
    the log."""
    sender_kind, user_id = actor.sender_kind, actor.user_id
    try:
        with transaction.atomic():
            action = {"text": "text", "note": "note", "whisper": "whisper"}[kind]
            conversation = conversation_for_staff(actor=actor, conversation_id=conversation_id, action=action)
            if kind == "text" and conversation.state not in Conversation.HELD_STATES:
                # A console sending again what it sent while the chat was held is told it was stored.
                stored = _existing(conversation.pk, client_msg_id, sender_kind=sender_kind, sender_user_id=user_id)
                if stored is not None:
                    return Sent(stored, duplicate=True)
                raise ProtocolError("invalid_state")
            message = entry_append(
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
        state_notify(conversation)
        if language == (conversation.language or settings.LANGUAGE_CODE):
            return  # as expected: the summary says so, the log need not
        offered = language in dict(settings.LANGUAGES)
        entry_append(
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
    state_notify(conversation)
    if conversation.state == State.QUEUED and conversation.queue_id is not None:
        queue_changed(conversation.queue_id)


def conversation_language_set(*, visitor_id: UUID, language: str) -> Conversation:
    """The visitor chose the chat's language during the chat (routing and the advisor follow)."""
    if language not in triage.offered_languages():
        raise ProtocolError("unknown_language")
    with transaction.atomic():
        conversation = visitor_conversation_locked(visitor_id)
        if conversation.language == language:
            return conversation
        conversation.language = language
        conversation.save(update_fields=["language"])
        entry_append(
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
        mine = sorted(speaks(StaffProfile.objects.get(user_id=actor.user_id).languages))
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
