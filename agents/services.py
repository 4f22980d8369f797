"""Staff accounts: signing out, losing access, and what the console lists."""

from typing import Any

from django.contrib.auth import logout
from django.db.models import Q
from django.http import HttpRequest

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
