"""Staff accounts: signing out, losing access, and what the console lists."""

from typing import Any

from django.contrib.auth import logout
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from agents.models import CannedResponse, StaffProfile
from chat.engine import events
from chat.models import Conversation


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
    from agents.models import ContactStatistic
    from chat.retention import statistic_time

    recorded = 0
    pending = Conversation.objects.filter(state=Conversation.State.CLOSED, statistic__isnull=True).select_related(
        "queue"
    )
    for conversation in pending.iterator():
        local = timezone.localtime(conversation.created_at)
        earlier = Conversation.objects.filter(
            visitor_id=conversation.visitor_id, created_at__lt=conversation.created_at
        ).exists()
        triage = conversation.triage or {}
        wait = duration = None
        if conversation.accepted_at and conversation.queued_at:
            wait = max(0, int((conversation.accepted_at - conversation.queued_at).total_seconds()))
        if conversation.accepted_at and conversation.closed_at:
            duration = max(0, int((conversation.closed_at - conversation.accepted_at).total_seconds()))
        _, created = ContactStatistic.objects.get_or_create(
            conversation=conversation,
            defaults={
                "contact_at": statistic_time(conversation.created_at),
                "weekday": local.weekday(),
                "hour": local.hour,
                "queue": conversation.queue.slug if conversation.queue else "",
                "about": str(triage.get("about", "")),
                "language": conversation.language,
                "returning": earlier or bool(triage.get("returning")),
                "in_danger": bool(triage.get("in_danger")),
                "answered": conversation.accepted_at is not None,
                "wait_seconds": wait,
                "duration_seconds": duration,
                "close_reason": conversation.close_reason,
                "outcome": conversation.outcome,
            },
        )
        recorded += int(created)
    return recorded
