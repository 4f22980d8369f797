"""Celery tasks of the messaging channels: thin, idempotent, acks_late.

Delivery waits as Telegram asks (429 retry_after) and backs off while it is unreachable. On a
worker it is retried with a countdown; run eagerly (the embedded profile, the tests) there is no
queue to come back from, so it waits in place, up to the same number of tries. Either way what is
still pending after that is taken up by the sweep (beat, every minute): nothing is lost, and
nothing Telegram refused is tried again."""

import logging
import time
from datetime import timedelta
from uuid import UUID

from celery import Task, current_app, shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from messenger import background
from messenger.models import TelegramChat, TelegramOutbox, TelegramUpdate
from messenger.telegram import api, delivery, inbound, outbox

logger = logging.getLogger(__name__)
UPDATES_KEPT = timedelta(days=2)  # Telegram resends an update for at most a day


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=None)
def telegram_deliver(self: Task, link_id: int) -> None:
    attempts = int(settings.TELEGRAM["SEND_ATTEMPTS"])
    for _ in range(attempts):
        outcome = delivery.deliver(link_id)
        if outcome.done:
            return
        if not self.request.is_eager:
            if self.request.retries >= attempts and not outcome.flooded:
                return  # the sweep comes back to it
            raise self.retry(countdown=outcome.wait)
        time.sleep(outcome.wait)


def _off_thread() -> bool:
    """No worker to queue for (tasks run eagerly): the calls go to the delivery thread."""
    return bool(current_app.conf.task_always_eager and settings.TELEGRAM["DELIVERY_THREAD"])


def deliver_soon(link_id: int) -> None:
    """Start sending what the link has pending, never in the caller's thread when no worker runs
    (messenger.background)."""
    if _off_thread():
        background.submit(telegram_deliver.apply, [link_id])
    else:
        telegram_deliver.delay(link_id)


def telegram_outlet(conversation_id: UUID) -> None:
    """chat.outlets: a conversation of the Telegram channel has new entries for its visitor."""
    link_id = TelegramChat.objects.filter(conversation_id=conversation_id).values_list("pk", flat=True).first()
    if link_id is not None:
        deliver_soon(link_id)


def telegram_typing_outlet(conversation_id: UUID, active: bool) -> None:
    if not active:
        return
    if _off_thread():
        background.submit(delivery.typing, conversation_id)
    else:
        telegram_typing.delay(str(conversation_id))


@shared_task(acks_late=True, ignore_result=True)
def telegram_typing(conversation_id: str) -> None:
    delivery.typing(UUID(conversation_id))


@shared_task(acks_late=True, ignore_result=True)
def telegram_updates(update_pk: int) -> None:
    """The stored update's chat: its updates acted on, then what they give to send. Takes the
    row's key, never the chat id: a task's arguments can reach the worker's logs."""
    chat_id = inbound.chat_of(update_pk)
    if chat_id is None:
        return  # acted on already, with an earlier update of its chat
    for link_id in inbound.updates_process(chat_id):
        deliver_soon(link_id)


@shared_task(acks_late=True, ignore_result=True)
def telegram_sweep() -> dict[str, int]:
    """Backstop: updates left unprocessed, outboxes left pending, queued visitors told their
    place again, and old update ids forgotten."""
    if not api.enabled():
        return {}
    chats = inbound.chats_waiting()
    for update_pk in chats:
        telegram_updates.delay(update_pk)
    stale_claim = Q(state=TelegramOutbox.State.SENDING, claimed_at__lt=timezone.now() - delivery.CLAIM_STALE)
    pending = set(
        TelegramOutbox.objects.filter(Q(state=TelegramOutbox.State.PENDING) | stale_claim)
        .values_list("link_id", flat=True)
        .distinct()
    )
    notes = 0
    for link in TelegramChat.objects.filter(phase=TelegramChat.Phase.CHAT, conversation__state="queued"):
        with transaction.atomic():
            locked = outbox.link_locked(link.pk)
            if outbox.waiting_note(locked):
                notes += 1
                pending.add(link.pk)
    given_up = delivery.give_up(older_than=timedelta(hours=float(settings.TELEGRAM["GIVE_UP_HOURS"])))
    for link_id in pending | given_up:
        deliver_soon(link_id)
    now = timezone.now()
    forgotten, _ = TelegramUpdate.objects.filter(
        processed_at__isnull=False, received_at__lt=now - UPDATES_KEPT
    ).delete()
    # A finished link keeps no id and no text; it goes with its chat's retention.
    kept = timedelta(days=float(settings.CHAT["RETENTION_DAYS"]))
    TelegramChat.objects.filter(phase=TelegramChat.Phase.FINISHED, finished_at__lt=now - kept).delete()
    return {"chats": len(chats), "links": len(pending), "notes": notes, "forgotten": forgotten}
