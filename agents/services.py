"""Staff accounts: signing out, losing access, and what the console lists."""

from typing import Any

from django.contrib.auth import logout
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from agents.models import CannedResponse, ContactStatistic, StaffProfile
from chat import events
from chat.models import Conversation
from chat.retention import statistic_time


def staff_sockets_close(*, user_id: int, reason: str) -> None:
    """Close every console socket of this person, in every process, at once."""
    events.send_now([(events.staff_group(user_id), {"type": "chat.force_close", "reason": reason})])


def staff_sign_out(*, request: HttpRequest) -> None:
    user_id = request.user.pk
    logout(request)
    if user_id is not None:
        staff_sockets_close(user_id=user_id, reason="signed_out")


def staff_access_revoked(*, user_id: int, reason: str) -> None:
    """The account was deactivated or lost its second factor: its sockets close now, and its
    sessions fail verification from here on (see agents.auth.session_verified)."""
    staff_sockets_close(user_id=user_id, reason=reason)


def staff_list() -> list[dict[str, Any]]:
    """Every active staff member with availability and load, for transfers and supervision."""
    held = Conversation.HELD_STATES
    profiles = StaffProfile.objects.filter(user__is_active=True).select_related("user").order_by("display_name")
    loads: dict[int, int] = {}
    for user_id in Conversation.objects.filter(state__in=held, assigned_to__isnull=False).values_list(
        "assigned_to_id", flat=True
    ):
        loads[user_id] = loads.get(user_id, 0) + 1
    return [
        {
            "user_id": p.user_id,
            "name": p.display_name,
            "role": p.role,
            "availability": p.availability,
            "load": loads.get(p.user_id, 0),
            "capacity": p.capacity,
            "languages": p.languages,
            "connected": p.connections.exists(),
        }
        for p in profiles
    ]


def canned_responses(*, user_id: int) -> list[dict[str, Any]]:
    responses = CannedResponse.objects.filter(Q(owner__isnull=True) | Q(owner_id=user_id))
    return [
        {"shortcut": r.shortcut, "title": r.title, "text": r.text, "scope": "team" if r.owner_id is None else "mine"}
        for r in responses
    ]


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
        },
    )


def _returning(conversation: Conversation) -> bool:
    """What the product knows of a return: an earlier chat in the same visitor session, or a
    case record this chat is attached to that already had an earlier chat (a returning visitor
    who gave their case reference)."""
    earlier = Conversation.objects.filter(created_at__lt=conversation.created_at)
    if earlier.filter(visitor_id=conversation.visitor_id).exists():
        return True
    return earlier.filter(case_links__case__conversation_links__conversation=conversation).exists()
