"""The visitor's optional, anonymous answer to "Did this chat help?" at the end of a chat.

Kept only as a count per day and answer (FeedbackCount). The conversation keeps a flag that an
answer was given, so each chat answers once, but never which answer: nothing leads from a count
back to a chat or a visitor.
"""

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from chat.errors import ProtocolError
from chat.models import Conversation, FeedbackCount

WINDOW = timedelta(hours=1)  # how long after a chat ends its feedback is taken


def feedback_record(*, visitor_id: UUID, answer: str) -> None:
    """Count the answer for the visitor's latest chat, if it ended within WINDOW and has no
    answer yet."""
    if answer not in FeedbackCount.Answer.values:
        raise ProtocolError("invalid", f"answer: must be one of {', '.join(FeedbackCount.Answer.values)}")
    with transaction.atomic():
        latest = Conversation.objects.filter(visitor_id=visitor_id).order_by("-created_at").values_list("pk", flat=True)
        conversation = Conversation.objects.select_for_update().filter(pk__in=latest[:1]).first()
        if (
            conversation is None
            or conversation.state != Conversation.State.CLOSED
            or conversation.closed_at is None
            or conversation.closed_at < timezone.now() - WINDOW
            or conversation.close_reason in (Conversation.CloseReason.QUICK_EXIT, Conversation.CloseReason.BLOCKED)
        ):
            raise ProtocolError("no_ended_chat")
        if conversation.feedback_given:
            raise ProtocolError("feedback_given")
        conversation.feedback_given = True
        conversation.save(update_fields=["feedback_given"])
        _count(timezone.localdate(), answer)


def _count(day: date, answer: str) -> None:
    if FeedbackCount.objects.filter(day=day, answer=answer).update(count=F("count") + 1):
        return
    try:
        with transaction.atomic():  # a savepoint: another chat may create the row first
            FeedbackCount.objects.create(day=day, answer=answer, count=1)
    except IntegrityError:
        FeedbackCount.objects.filter(day=day, answer=answer).update(count=F("count") + 1)


def feedback_totals(*, start: date, end: date) -> dict[str, Any]:
    """Answers given from `start` to `end` (inclusive), per answer, in the order asked."""
    rows = (
        FeedbackCount.objects.filter(day__gte=start, day__lte=end)
        .values("answer")
        .annotate(total=Sum("count"))
        .values_list("answer", "total")
    )
    totals = dict(rows)
    counts = [(choice.label, int(totals.get(choice.value, 0))) for choice in FeedbackCount.Answer]
    return {"rows": counts, "total": sum(n for _, n in counts)}
