"""Staff sockets and availability: a console connecting, beating and dropping, and going on or
off shift.
"""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agents import auth
from agents.models import StaffConnection, StaffProfile
from chat.services.kernel import StaffActor, profile_lock
from chat.services.notices import queue_changed, staff_state, staff_state_notify


def staff_connect(*, user_id: int, channel_name: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        profile = profile_lock(user_id)
        StaffConnection.objects.update_or_create(
            channel_name=channel_name, defaults={"profile": profile, "seen_at": now}
        )
        if profile.disconnected_at is not None:
            profile.disconnected_at = None
            profile.save(update_fields=["disconnected_at"])


def staff_heartbeat(*, channel_name: str) -> None:
    StaffConnection.objects.filter(channel_name=channel_name).update(seen_at=timezone.now())


def live_connections(profile: StaffProfile, now: datetime) -> int:
    horizon = now - timedelta(seconds=float(settings.CHAT["STAFF_HEARTBEAT_TIMEOUT_SECONDS"]))
    return profile.connections.filter(seen_at__gt=horizon).count()


def staff_disconnect(*, user_id: int, channel_name: str) -> bool:
    """Returns whether this was the last live socket (so the advisor's grace period started)."""
    now = timezone.now()
    with transaction.atomic():
        profile = profile_lock(user_id)
        StaffConnection.objects.filter(channel_name=channel_name).delete()
        if live_connections(profile, now) == 0 and profile.disconnected_at is None:
            profile.disconnected_at = now
            profile.save(update_fields=["disconnected_at"])
            return True
        return False


def availability_set(*, actor: StaffActor, availability: str) -> dict[str, Any]:
    with transaction.atomic():
        profile = profile_lock(actor.user_id)
        profile.availability = availability
        profile.save(update_fields=["availability"])
        staff_state_notify(profile)
        for queue_id in profile.queues.values_list("pk", flat=True):
            queue_changed(queue_id, staff=False)  # the estimated waits change with the staff on shift
    return staff_state(user_id=actor.user_id)


def staff_session_check(*, session: Any, user_id: int, channel_name: str) -> bool:
    """A console socket's periodic re-check of its session and its presence heartbeat, in one
    call on the database thread: with a console socket per chat they were two calls and four
    queries every 20 s a socket."""
    if not auth.staff_session_allows(session, user_id):
        return False
    staff_heartbeat(channel_name=channel_name)
    return True
