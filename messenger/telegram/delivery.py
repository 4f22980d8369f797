"""Sending a link's outbox: once, in order, within Telegram's rate limits.

Guarantees:
- A row is claimed (state `sending`) in a short transaction with the link's row locked, the call
  is made outside any transaction, and its outcome recorded in another short one. While a row of
  a link is claimed no other sender takes a row of that link, so with several workers a row is
  sent by one of them, and the next only after it (rows in id order). No transaction is open
  while Telegram answers or a rate limit is waited out: on SQLite a transaction holds the
  database's one write lock, and every chat of the process would wait with it.
- A sender killed between Telegram's answer and the record leaves its claim; after
  CLAIM_STALE the row is sent again: the Bot API has no idempotency key, so this one edge is
  at-least-once.
- Telegram unreachable (network, 5xx): the row stays pending; the caller tries again later.
  429: the caller waits retry_after. Refused (blocked, chat not found): the advisor is told, the
  link's other rows are dropped, nothing is tried again.
"""

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from chat.errors import ProtocolError
from chat.models import Conversation
from chat.services.message import visitor_receipt
from messenger.models import TelegramChat, TelegramOutbox
from messenger.telegram import api, outbox, refusals

logger = logging.getLogger(__name__)
Kind = TelegramOutbox.Kind
State = TelegramOutbox.State
DELETE_BATCH = 100  # deleteMessages takes at most 100 ids
# A claim older than this is a sender that died during its call: the row is sent again.
CLAIM_STALE = timedelta(minutes=2)


@dataclass(frozen=True)
class Outcome:
    done: bool
    wait: float = 0.0  # seconds before the next try, when not done
    flooded: bool = False


def _markup(buttons: list[list[dict[str, str]]] | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b["text"], callback_data=b["data"]) for b in row] for row in buttons]
    )


def _global_slot() -> None:
    """At most GLOBAL_PER_SECOND calls in any one second, across every process (the cache is
    Redis when scaled)."""
    limit = int(settings.TELEGRAM["GLOBAL_PER_SECOND"])
    while True:
        second = int(time.time())
        key = f"telegram:calls:{second}"
        cache.add(key, 0, timeout=5)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            continue
        if count <= limit:
            return
        time.sleep(max(0.0, second + 1 - time.time()))


def _chat_slot(last_sent_at: float) -> None:
    wait = last_sent_at + float(settings.TELEGRAM["PER_CHAT_SECONDS"]) - time.time()
    if wait > 0:
        time.sleep(wait)


def _call(link: TelegramChat, row: TelegramOutbox) -> Any:
    assert link.chat_id is not None
    chat_id: int = link.chat_id
    payload = row.payload
    if row.kind == Kind.SEND:
        return api.call(
            lambda bot: bot.send_message(
                chat_id=chat_id, text=payload["text"], reply_markup=_markup(payload.get("buttons"))
            )
        )
    if row.kind == Kind.EDIT:

        async def edit(bot: Bot) -> Any:
            return await bot.edit_message_text(
                chat_id=chat_id,
                message_id=payload["message_id"],
                text=payload["text"],
                reply_markup=_markup(payload.get("buttons")),
            )

        return api.call(edit)
    if row.kind == Kind.ANSWER:
        return api.call(lambda bot: bot.answer_callback_query(callback_query_id=payload["callback_id"]))
    if row.kind == Kind.DELETE:
        ids = outbox.deletable(link)
        for start in range(0, len(ids), DELETE_BATCH):
            batch = ids[start : start + DELETE_BATCH]
            # Some may be gone already (the visitor deleted them): Telegram deletes the rest.
            with contextlib.suppress(api.Rejected):
                api.call(_deleting(chat_id, batch))
        return None
    raise ValueError(row.kind)


def _deleting(chat_id: int, message_ids: list[int]) -> Callable[[Bot], Awaitable[bool]]:
    def operation(bot: Bot) -> Awaitable[bool]:
        return bot.delete_messages(chat_id=chat_id, message_ids=message_ids)

    return operation


def _finish(link: TelegramChat) -> None:
    """The link's last row: the Telegram ids go, and the copies of what was sent."""
    link.outbox.update(payload={})
    link.chat_id = None
    link.messages = []
    link.phase = TelegramChat.Phase.FINISHED
    link.finished_at = timezone.now()
    link.save(update_fields=["chat_id", "messages", "phase", "finished_at"])


def deliver_next(link_id: int) -> Outcome | None:
    """Send the link's next pending row. None when it sent one (call again); an Outcome when
    there was nothing to send or the caller must wait."""
    claimed = _claim(link_id)
    if not isinstance(claimed, tuple):
        return claimed
    link, row = claimed
    _chat_slot(link.last_sent_at)
    _global_slot()
    try:
        result = _call(link, row)
    except api.ApiError as error:
        return _failed(link_id, row.pk, error)
    except BaseException:
        _release(row.pk, "interrupted")
        raise
    _sent(link_id, row.pk, result)
    return None


def _claim(link_id: int) -> tuple[TelegramChat, TelegramOutbox] | Outcome | None:
    """The link's next row, claimed for this sender; or what to do instead."""
    with transaction.atomic():
        link = outbox.link_locked(link_id)
        outbox.log_sync(link)
        row = link.outbox.filter(state__in=(State.PENDING, State.SENDING)).order_by("id").first()
        if row is None:
            return Outcome(done=True)
        if row.state == State.SENDING and row.claimed_at and row.claimed_at > timezone.now() - CLAIM_STALE:
            return Outcome(done=True)  # another sender has the link; it goes on to the rows after
        if row.kind == Kind.FINISH:
            _finish(link)
            _mark(row, State.SENT)
            return None
        if link.unreachable or link.chat_id is None:
            _mark(row, State.CANCELLED)
            return None
        row.state = State.SENDING
        row.claimed_at = timezone.now()
        row.save(update_fields=["state", "claimed_at"])
    return link, row


def _release(row_id: int, error: str) -> TelegramOutbox:
    """The call did not go through: the row waits to be tried again."""
    with transaction.atomic():
        row = TelegramOutbox.objects.select_for_update().get(pk=row_id)
        row.state = State.PENDING
        row.claimed_at = None
        row.attempts += 1
        row.error = error[:200]
        row.save(update_fields=["state", "claimed_at", "attempts", "error"])
    return row


def _failed(link_id: int, row_id: int, error: api.ApiError) -> Outcome | None:
    if isinstance(error, api.Flooded):
        _release(row_id, "flood control")
        return Outcome(done=False, wait=error.retry_after, flooded=True)
    if isinstance(error, api.Unavailable):
        row = _release(row_id, str(error))
        backoff = float(settings.TELEGRAM["RETRY_SECONDS"]) * 2 ** min(row.attempts - 1, 6)
        return Outcome(done=False, wait=backoff)
    with transaction.atomic():
        link = outbox.link_locked(link_id)
        row = TelegramOutbox.objects.get(pk=row_id)
        _mark(row, State.FAILED, str(error))
        if isinstance(error, api.Refused):
            refusals.link_unreachable(
                link, reason="Telegram refused the message (the bot was blocked or the chat deleted)."
            )
        elif row.kind == Kind.SEND:  # Rejected: this one call
            refusals.entry_undelivered(link, detail=str(error))
    return None


def _sent(link_id: int, row_id: int, result: Any) -> None:
    with transaction.atomic():
        link = outbox.link_locked(link_id)
        row = TelegramOutbox.objects.get(pk=row_id)
        link.last_sent_at = time.time()
        link.save(update_fields=["last_sent_at"])
        if row.kind == Kind.SEND and result is not None:
            row.message_id = result.message_id
            outbox.message_seen(link, message_id=result.message_id)
        _mark(row, State.SENT)
        if row.kind == Kind.SEND and row.seq is not None:
            _delivered(link, row.seq)


def _delivered(link: TelegramChat, seq: int) -> None:
    """Telegram took the entry: the console shows it delivered, as a web visitor's page would
    say (the Bot API tells nothing of a message being read)."""
    if link.conversation_id is None:
        return
    visitor_id = Conversation.objects.filter(pk=link.conversation_id).values_list("visitor_id", flat=True).first()
    if visitor_id is not None:
        with contextlib.suppress(ProtocolError):  # the chat has ended meanwhile
            visitor_receipt(visitor_id=visitor_id, seq=seq, status="delivered")


def _mark(row: TelegramOutbox, state: str, error: str = "") -> None:
    row.state = state
    row.error = error[:200]
    row.sent_at = timezone.now() if state == State.SENT else None
    row.save(update_fields=["state", "error", "sent_at", "message_id"])


def deliver(link_id: int, *, max_rows: int = 500) -> Outcome:
    """Send the link's pending rows in order until none is left or Telegram says wait."""
    for _ in range(max_rows):
        outcome = deliver_next(link_id)
        if outcome is not None:
            return outcome
    return Outcome(done=False, wait=0.0)


def give_up(*, older_than: timedelta) -> set[int]:
    """Rows Telegram has not taken for this long (it was down all along) are given up, the
    advisor told of each message lost, so that the chat's last rows, and the forgetting of its
    id, can follow. Returns the links concerned."""
    cutoff = timezone.now() - older_than
    stale = TelegramOutbox.objects.filter(state=State.PENDING, created_at__lt=cutoff).exclude(kind=Kind.FINISH)
    links: set[int] = set()
    for link_id in set(stale.values_list("link_id", flat=True)):
        with transaction.atomic():
            link = outbox.link_locked(link_id)
            rows = list(link.outbox.filter(state=State.PENDING, created_at__lt=cutoff).exclude(kind=Kind.FINISH))
            for row in rows:
                _mark(row, State.FAILED, "Telegram could not be reached")
            if any(row.kind == Kind.SEND for row in rows):
                refusals.entry_undelivered(link, detail="Telegram could not be reached for too long")
            links.add(link_id)
    return links


def typing(conversation_id: UUID) -> None:
    """Staff typing: sendChatAction, at most once every 4 s per chat (Telegram shows it ~5 s)."""
    chat_id = (
        TelegramChat.objects.filter(conversation_id=conversation_id, phase=TelegramChat.Phase.CHAT, unreachable=False)
        .values_list("chat_id", flat=True)
        .first()
    )
    if chat_id is None or not cache.add(f"telegram:typing:{conversation_id}", 1, timeout=4):
        return
    try:
        api.call(lambda bot: bot.send_chat_action(chat_id=chat_id, action="typing"))
    except api.ApiError:
        logger.info("telegram: a typing notice was not delivered")  # ephemeral: never retried
