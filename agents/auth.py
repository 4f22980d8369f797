"""Staff authentication rules shared by the pages and the staff socket."""

import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from agents.models import StaffProfile

LAST_ACTIVITY_KEY = "staff_last_activity"


def no_client_address(request: HttpRequest) -> None:
    """django-axes' client address: none. Lockouts go by username; no address is kept."""
    return None


def session_verified(session: Any, user: Any) -> bool:
    """Whether this session passed two-factor with a confirmed device that still exists."""
    if user is None or not user.is_authenticated:
        return False
    return _device_confirmed(session, user.pk)


def _device_confirmed(session: Any, user_id: int) -> bool:
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    if not persistent_id:
        return False
    device = Device.from_persistent_id(persistent_id)
    return device is not None and device.user_id == user_id and device.confirmed


def staff_session_allows(session: Any, user_id: int) -> bool:
    """Whether a signed-in staff session may go on: not idle past the limit, the account active
    with a staff profile (one query), the second factor's device still there and confirmed (one
    query). A console re-checks this every few seconds of use, so it asks no more than that."""
    return (
        not idle_expired(session)
        and StaffProfile.objects.filter(user_id=user_id, user__is_active=True).exists()
        and _device_confirmed(session, user_id)
    )


def idle_expired(session: Any, now: float | None = None) -> bool:
    last = session.get(LAST_ACTIVITY_KEY)
    if last is None:
        return False
    return (now or time.time()) - float(last) > float(settings.STAFF_IDLE_MINUTES) * 60


def touch(session: Any, now: float | None = None) -> None:
    session[LAST_ACTIVITY_KEY] = now or time.time()
