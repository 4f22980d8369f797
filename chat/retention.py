"""The retention purge: what is left of a chat that was never attached to a case.

A closed chat not attached to a case record is erased whole RETENTION_DAYS after it closed: its
log (every message, note, whisper and event), the triage answers (in danger, safe to talk, who it
is about, region, language and any other answer), its topic, outcome and timings, who handled it
(assignments, transfers and their notes), and, once the visitor has no chat left, the visitor's
anonymous session row. What stays is the chat's row in the anonymous contact statistics
(agents.ContactStatistic), counted before anything is erased: its link to the conversation is
cut and its time is kept to the hour, which is all the reports read (see chat.reports).

A chat attached to a case follows the case's retention (risk.retention) instead.

Idempotent and safe to run concurrently with itself: each chat is erased in its own transaction
with its row locked, and is re-checked under the lock.
"""

from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from agents.models import ContactStatistic
from chat.models import Conversation, Visitor, VisitorBlock


def statistic_time(moment: datetime) -> datetime:
    """The contact time the statistics keep: the start of its hour in the helpline's time zone
    (reports count by local day, weekday and hour, so they read the same)."""
    local = timezone.localtime(moment)
    return local.replace(minute=0, second=0, microsecond=0)


def statistics_detach(*, conversation_ids: list[UUID]) -> int:
    """Cut the statistics rows of these conversations loose and keep their time to the hour."""
    detached = 0
    for row in ContactStatistic.objects.filter(conversation_id__in=conversation_ids):
        row.conversation = None
        row.contact_at = statistic_time(row.contact_at)
        row.save(update_fields=["conversation", "contact_at"])
        detached += 1
    return detached


def conversations_erase(*, conversation_ids: list[UUID]) -> int:
    """Erase these conversations whole (log, assignments, transfers), then the sessions of
    visitors left with none. The caller has checked they may go and holds their rows locked.
    Their statistics rows stay, detached."""
    if not conversation_ids:
        return 0
    visitor_ids = set(Conversation.objects.filter(pk__in=conversation_ids).values_list("visitor_id", flat=True))
    statistics_detach(conversation_ids=conversation_ids)
    _, by_model = Conversation.objects.filter(pk__in=conversation_ids).delete()
    Visitor.objects.filter(pk__in=visitor_ids).exclude(
        Exists(Conversation.objects.filter(visitor=OuterRef("pk")))
    ).delete()
    return int(by_model.get(Conversation._meta.label, 0))


def visitors_expired_erase(*, now: datetime) -> int:
    """Sessions that expired without a chat (the widget was opened, nothing was sent)."""
    deleted, _ = (
        Visitor.objects.filter(expires_at__lt=now)
        .exclude(Exists(Conversation.objects.filter(visitor=OuterRef("pk"))))
        .delete()
    )
    return deleted


def blocks_ended_erase(*, now: datetime) -> int:
    """Blocks that ended (expired or lifted) more than BLOCK_RETENTION_DAYS ago, with the session
    hash and note they hold; their audit events stay, naming only the block's id."""
    cutoff = now - timedelta(days=float(settings.CHAT["BLOCK_RETENTION_DAYS"]))
    # A block ends when it expires or, earlier, when it is lifted.
    ended = Q(expires_at__lt=cutoff) | Q(lifted_at__lt=cutoff)
    deleted, _ = VisitorBlock.objects.filter(ended).delete()
    return deleted


def statistics_roll_up() -> int:
    """Record the figures of every closed conversation not yet counted. Idempotent: a
    conversation is counted once, whenever and however often this runs."""
    recorded = 0
    pending = Conversation.objects.filter(state=Conversation.State.CLOSED, statistic__isnull=True).select_related(
        "queue"
    )
    for conversation in pending.iterator():
        _, created = statistic_count(conversation=conversation)
        recorded += int(created)
    return recorded


def statistic_count(*, conversation: Conversation) -> tuple[ContactStatistic, bool]:
    """The statistics row of this closed conversation, made now if it was not counted yet."""
    local = timezone.localtime(conversation.created_at)
    triage = conversation.triage or {}
    wait = duration = None
    if conversation.accepted_at and conversation.queued_at:
        wait = max(0, int((conversation.accepted_at - conversation.queued_at).total_seconds()))
    if conversation.accepted_at and conversation.closed_at:
        duration = max(0, int((conversation.closed_at - conversation.accepted_at).total_seconds()))
    return ContactStatistic.objects.get_or_create(
        conversation=conversation,
        defaults={
            "contact_at": statistic_time(conversation.created_at),
            "weekday": local.weekday(),
            "hour": local.hour,
            "queue": conversation.queue.slug if conversation.queue else "",
            "about": str(triage.get("about", "")),
            "language": conversation.language,
            "returning": _returning(conversation) or bool(triage.get("returning")),
            "in_danger": bool(triage.get("in_danger")),
            "answered": conversation.accepted_at is not None,
            "wait_seconds": wait,
            "duration_seconds": duration,
            "close_reason": conversation.close_reason,
            "outcome": conversation.outcome,
            "channel": statistic_channel(conversation.channel),
        },
    )


def statistic_channel(channel: str) -> str:
    """The statistics' name for a conversation's channel (the widget's is counted as "web_chat")."""
    return "web_chat" if channel == "web" else channel


def _returning(conversation: Conversation) -> bool:
    """What the product knows of a return: an earlier chat in the same visitor session, or a
    case record this chat is attached to that already had an earlier chat (a returning visitor
    who gave their case reference)."""
    earlier = Conversation.objects.filter(created_at__lt=conversation.created_at)
    if earlier.filter(visitor_id=conversation.visitor_id).exists():
        return True
    return earlier.filter(case_links__case__conversation_links__conversation=conversation).exists()


def _due(cutoff: datetime) -> list[UUID]:
    return list(
        Conversation.objects.filter(state=Conversation.State.CLOSED, closed_at__lt=cutoff, case_links__isnull=True)
        .order_by("closed_at")
        .values_list("pk", flat=True)
    )


def retention_purge(*, now: datetime | None = None) -> int:
    """Erase every chat that closed more than RETENTION_DAYS ago and was never attached to a
    case, keeping only its anonymous statistics (counted first). Returns how many were erased."""
    now = now or timezone.now()
    statistics_roll_up()
    cutoff = now - timedelta(days=float(settings.CHAT["RETENTION_DAYS"]))
    erased = 0
    for conversation_id in _due(cutoff):
        with transaction.atomic():
            conversation = Conversation.objects.select_for_update().filter(pk=conversation_id).first()
            if conversation is None or conversation.case_links.exists():
                continue  # erased meanwhile, or attached to a case since
            if not ContactStatistic.objects.filter(conversation_id=conversation_id).exists():
                continue  # not counted yet: never erase what the reports have not seen
            erased += conversations_erase(conversation_ids=[conversation_id])
    visitors_expired_erase(now=now)
    blocks_ended_erase(now=now)
    return erased
