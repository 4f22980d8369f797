"""What goes to a Telegram chat, written as outbox rows in the caller's transaction, with the
link's row locked: the bot's own messages, and the conversation's entries for the visitor
(`log_sync`, by public_seq, so each entry is put in the outbox once and in order).

Rows are sent by messenger.telegram.delivery, in id order, each once."""

import time
from typing import Any

from django.conf import settings
from django.utils import timezone

from chat import selectors
from chat.models import Conversation, Message
from messenger.models import TelegramChat, TelegramOutbox
from messenger.telegram.texts import entry_text, text

Kind = TelegramOutbox.Kind
Phase = TelegramChat.Phase

# Entries the bot says in its own way (its own greeting; the queue's place comes with "queued").
NOT_SENT = ("triage_started",)
# Telegram lets a bot delete messages up to 48 hours old.
DELETABLE_SECONDS = 48 * 3600 - 60
Buttons = list[list[dict[str, str]]]


def link_locked(link_id: int) -> TelegramChat:
    return TelegramChat.objects.select_for_update().get(pk=link_id)


def send(link: TelegramChat, message: str, *, buttons: Buttons | None = None, seq: int | None = None) -> None:
    payload: dict[str, Any] = {"text": message}
    if buttons:
        payload["buttons"] = buttons
    TelegramOutbox.objects.create(link=link, kind=Kind.SEND, payload=payload, seq=seq)


def edit(link: TelegramChat, *, message_id: int, message: str, buttons: Buttons | None = None) -> None:
    """One of our messages reworded (a question showing its answer), its buttons replaced."""
    payload: dict[str, Any] = {"message_id": message_id, "text": message}
    if buttons:
        payload["buttons"] = buttons
    TelegramOutbox.objects.create(link=link, kind=Kind.EDIT, payload=payload)


def answer(link: TelegramChat, *, callback_id: str) -> None:
    TelegramOutbox.objects.create(link=link, kind=Kind.ANSWER, payload={"callback_id": callback_id})


def message_seen(link: TelegramChat, *, message_id: int, at: float | None = None) -> None:
    """A message of the chat (the visitor's or ours), kept for /exit to delete."""
    link.messages = [*link.messages, [message_id, at or time.time()]]
    link.save(update_fields=["messages"])


def deletable(link: TelegramChat, *, now: float | None = None) -> list[int]:
    now = now or time.time()
    return [int(message_id) for message_id, at in link.messages if now - float(at) < DELETABLE_SECONDS]


def exit_now(link: TelegramChat) -> None:
    """/exit: nothing more goes to the chat but the deletion of what it holds; then the link
    finishes. Rows not yet sent are dropped."""
    link.outbox.filter(state=TelegramOutbox.State.PENDING).update(state=TelegramOutbox.State.CANCELLED)
    link.exited = True
    link.phase = Phase.FINISHING
    link.save(update_fields=["exited", "phase"])
    TelegramOutbox.objects.create(link=link, kind=Kind.DELETE)
    TelegramOutbox.objects.create(link=link, kind=Kind.FINISH)


def finish(link: TelegramChat) -> None:
    link.phase = Phase.FINISHING
    link.save(update_fields=["phase"])
    TelegramOutbox.objects.create(link=link, kind=Kind.FINISH)


def queue_place(conversation: Conversation, language: str) -> str:
    status = selectors.visitor_status(conversation)
    if status["position"] is None:
        return ""
    lines = [text("queued", language, position=status["position"])]
    wait = status["estimated_wait_seconds"]
    lines.append(text("wait", language, minutes=max(1, round(wait / 60))) if wait else text("no_estimate", language))
    return " ".join(lines)


def log_sync(link: TelegramChat) -> int:
    """Put the conversation's entries for the visitor not yet in the outbox into it, in order.
    Returns how many rows were added."""
    conversation_id = link.conversation_id
    if conversation_id is None or link.phase in (Phase.FINISHING, Phase.FINISHED):
        return 0
    entries = list(
        Message.objects.filter(conversation_id=conversation_id, public_seq__gt=link.logged_seq).order_by("public_seq")
    )
    if not entries:
        return 0
    added = 0
    conversation = Conversation.objects.get(pk=conversation_id)
    for entry in entries:
        assert entry.public_seq is not None
        link.logged_seq = entry.public_seq
        if link.unreachable and entry.event != "closed":
            continue
        if entry.sender_kind == Message.Sender.VISITOR or entry.event in NOT_SENT or not entry.text:
            continue
        message = entry_text(entry, link.language)
        if entry.event == "queued":
            place = queue_place(conversation, link.language)
            message = f"{message}\n{place}" if place else message
            link.waiting_note_at = timezone.now()
        elif entry.event == "closed":
            message = f"{message}\n{text('ended', link.language)}"
        send(link, message, seq=entry.public_seq)
        added += 1
        if entry.event == "closed":
            link.save(update_fields=["logged_seq", "waiting_note_at"])
            finish(link)
            return added
    link.save(update_fields=["logged_seq", "waiting_note_at"])
    return added


def waiting_note(link: TelegramChat) -> bool:
    """A queued visitor told their place again, when the last time was long enough ago."""
    conversation = link.conversation
    if conversation is None or conversation.state != Conversation.State.QUEUED or link.phase != Phase.CHAT:
        return False
    every = float(settings.TELEGRAM["WAITING_NOTE_MINUTES"]) * 60
    if link.waiting_note_at is not None and (timezone.now() - link.waiting_note_at).total_seconds() < every:
        return False
    status = selectors.visitor_status(conversation)
    if status["position"] is None:
        return False
    send(link, text("still_waiting", link.language, position=status["position"]))
    link.waiting_note_at = timezone.now()
    link.save(update_fields=["waiting_note_at"])
    return True
