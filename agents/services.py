"""Staff accounts: signing out, losing access, and the console's canned responses."""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import logout
from django.db.models import Q
from django.http import HttpRequest

from agents.models import CannedResponse

logger = logging.getLogger(__name__)


def staff_group(user_id: int) -> str:
    """The channel-layer group of every console socket of one staff member (chat.engine.events
    lists the groups)."""
    return f"staff.{user_id}"


def staff_sockets_close(*, user_id: int, reason: str) -> None:
    """Close every console socket of this person, in every process, at once. With the channel
    layer unreachable they close at their next access check instead (chat.consumers.staff
    checks the session every HEARTBEAT_WRITE_INTERVAL)."""
    layer = get_channel_layer()
    assert layer is not None
    try:
        async_to_sync(layer.group_send)(staff_group(user_id), {"type": "chat.force_close", "reason": reason})
    except Exception:
        logger.warning("channel layer unreachable; console sockets of a staff member not closed", exc_info=True)


def staff_sign_out(*, request: HttpRequest) -> None:
    user_id = request.user.pk
    logout(request)
    if user_id is not None:
        staff_sockets_close(user_id=user_id, reason="signed_out")


def staff_access_revoked(*, user_id: int, reason: str) -> None:
    """The account was deactivated or lost its second factor: its sockets close now, and its
    sessions fail verification from here on (see agents.auth.session_verified)."""
    staff_sockets_close(user_id=user_id, reason=reason)


def canned_responses(*, user_id: int) -> list[dict[str, Any]]:
    responses = CannedResponse.objects.filter(Q(owner__isnull=True) | Q(owner_id=user_id))
    return [
        {"shortcut": r.shortcut, "title": r.title, "text": r.text, "scope": "team" if r.owner_id is None else "mine"}
        for r in responses
    ]
