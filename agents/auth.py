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


def is_staff_member(user: Any) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and StaffProfile.objects.filter(user_id=user.pk).exists()
    )


def session_verified(session: Any, user: Any) -> bool:
    """Whether this session passed two-factor with a confirmed device that still exists."""
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    if not persistent_id or user is None or not user.is_authenticated:
        return False
    device = Device.from_persistent_id(persistent_id)
    return device is not None and device.user_id == user.pk and device.confirmed


def idle_expired(session: Any, now: float | None = None) -> bool:
    last = session.get(LAST_ACTIVITY_KEY)
    if last is None:
        return False
    return (now or time.time()) - float(last) > float(settings.STAFF_IDLE_MINUTES) * 60


def touch(session: Any, now: float | None = None) -> None:
    session[LAST_ACTIVITY_KEY] = now or time.time()
