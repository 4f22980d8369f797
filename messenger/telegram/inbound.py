"""Updates from Telegram (the webhook, or polling on a development machine): stored before they
are acknowledged, once (by update_id: a resent one is a no-op), then acted on in update_id order
per chat.

Ordering: `updates_process` takes a chat's oldest unprocessed update with its row locked and
acts on it in the same transaction, then the next; a second request for the same chat waits on
that row, then finds the next one. An update whose handling fails is tried again (by the next
update of its chat or the sweep) and after MAX_ATTEMPTS set aside, so that one bad update never
holds up its chat for ever."""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone
from pydantic import ValidationError

from messenger.models import TelegramUpdate
from messenger.telegram import dialogue
from messenger.telegram.schemas import Stored, Update, minimal, stored_form

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
# What the bot asks Telegram for (the webhook's and polling's allowed_updates).
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


class BadUpdate(ValueError):
    """Not an update at all (no usable update_id): refused, nothing stored."""


def update_store(data: object) -> tuple[TelegramUpdate | None, bool]:
    """Store an update as the bot needs it. Returns (the stored row, whether it is new); a resent
    update returns the row stored the first time and False. An update whose content does not
    parse is stored as `other` (acknowledged, never acted on), so Telegram does not resend it."""
    if not isinstance(data, dict):
        raise BadUpdate("An update is a JSON object.")
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
        raise BadUpdate("update_id: a non-negative integer is needed.")
    try:
        stored = minimal(Update.model_validate(data))
    except ValidationError:
        logger.warning("telegram: update %s did not parse; stored as other", update_id)  # never its content
        stored = Stored(kind="other")
    existing = TelegramUpdate.objects.filter(update_id=update_id).first()
    if existing is not None:
        return existing, False
    processed = timezone.now() if stored.kind == "other" else None
    try:
        with transaction.atomic():
            row = TelegramUpdate.objects.create(
                update_id=update_id,
                kind=stored.kind,
                chat_id=stored.chat_id,
                payload={} if processed else stored.model_dump(exclude_none=True),
                processed_at=processed,
            )
    except IntegrityError:  # the same update, stored by a request running alongside
        return TelegramUpdate.objects.filter(update_id=update_id).first(), False
    return row, True


def updates_process(chat_id: int) -> set[int]:
    """Act on the chat's unprocessed updates, oldest first. Returns the links with something to
    send."""
    touched: set[int] = set()
    while True:
        try:
            with transaction.atomic():
                row = _oldest_unprocessed(chat_id)
                if row is None:
                    return touched
                link_id = dialogue.update_handle(stored_form(row.payload), update_id=row.update_id)
                _processed(row)
                if link_id is not None:
                    touched.add(link_id)
        except Exception as exc:
            # Only the kind of error: a database error's message could quote a Telegram id.
            logger.error("telegram: an update could not be handled (%s)", type(exc).__name__)
            if not _failed(chat_id):
                return touched


def _oldest_unprocessed(chat_id: int) -> TelegramUpdate | None:
    """The chat's next update to act on, locked (the caller holds the transaction)."""
    return (
        TelegramUpdate.objects.select_for_update()
        .filter(chat_id=chat_id, processed_at__isnull=True)
        .order_by("update_id")
        .first()
    )


def _processed(row: TelegramUpdate) -> None:
    """Done: only the update's id and kind stay (for the resent ones)."""
    row.processed_at = timezone.now()
    row.payload = {}
    row.chat_id = None
    row.save(update_fields=["processed_at", "payload", "chat_id"])


def _failed(chat_id: int) -> bool:
    """Count a failed try on the chat's oldest update; returns whether to go on to the next
    (the failed one was set aside)."""
    with transaction.atomic():
        row = _oldest_unprocessed(chat_id)
        if row is None:
            return False
        row.attempts += 1
        row.save(update_fields=["attempts"])
        if row.attempts < MAX_ATTEMPTS:
            return False
        _processed(row)
        return True


def chats_waiting() -> list[int]:
    """For each chat with updates not yet processed, the key of its oldest (for the sweep)."""
    waiting = TelegramUpdate.objects.filter(processed_at__isnull=True, chat_id__isnull=False).order_by("update_id")
    first: dict[int, int] = {}
    for pk, chat_id in waiting.values_list("pk", "chat_id"):
        if chat_id is not None:
            first.setdefault(chat_id, pk)
    return list(first.values())


def chat_of(update_pk: int) -> int | None:
    """The chat of a stored update still waiting to be acted on."""
    return (
        TelegramUpdate.objects.filter(pk=update_pk, processed_at__isnull=True).values_list("chat_id", flat=True).first()
    )
