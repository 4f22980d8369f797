"""Staff authentication rules shared by the pages and the staff socket."""

import functools
import time
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from agents.models import StaffProfile

LAST_ACTIVITY_KEY = "staff_last_activity"


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
    with a staff profile, the second factor's device still there, this user's and confirmed.
    A console re-checks this every 20 s of use (many checks a second with a full shift), so it
    is one statement built once per device model instead of the ORM's two queries, a small part
    of what they cost the database thread (`python -m bench.message_write` measures both)."""
    if idle_expired(session):
        return False
    found = _device_of(session.get(DEVICE_ID_SESSION_KEY))
    if found is None:
        return False
    label, device_id = found
    with connection.cursor() as cursor:
        cursor.execute(_allows_sql(connection.vendor, label), [user_id, True, device_id, True])
        return cursor.fetchone() is not None


def _device_of(persistent_id: Any) -> tuple[str, int] | None:
    """The device model's label and the device's id that a session's persistent id names (read
    as django-otp's `Device.from_persistent_id` reads it), or None for one that names no device."""
    if not isinstance(persistent_id, str):
        return None
    try:
        label, device_id = persistent_id.rsplit("/", 1)
        _device_model(label)
        return label, int(device_id)
    except (ValueError, LookupError):
        return None


@functools.cache
def _device_model(label: str) -> type[Device]:
    app_label, model_name = label.split(".")
    model = apps.get_model(app_label, model_name)
    if not issubclass(model, Device):
        raise LookupError(label)
    return model


def _column(model: Any, name: str) -> str:
    return str(connection.ops.quote_name(model._meta.get_field(name).column))


@functools.cache
def _allows_sql(vendor: str, device_label: str) -> str:
    """One row when the user is active, has a staff profile and owns the confirmed device."""
    device, user = _device_model(device_label), get_user_model()
    quote = connection.ops.quote_name
    profile_user = f"p.{_column(StaffProfile, 'user')}"
    # Names only from the models' own metadata, quoted; every value is a parameter.
    return (
        f"SELECT 1 FROM {quote(StaffProfile._meta.db_table)} p "  # noqa: S608
        f"JOIN {quote(user._meta.db_table)} u ON u.{quote(user._meta.pk.column)} = {profile_user} "
        f"JOIN {quote(device._meta.db_table)} d ON d.{_column(device, 'user')} = {profile_user} "
        f"WHERE {profile_user} = %s AND u.{_column(user, 'is_active')} = %s "
        f"AND d.{quote(device._meta.pk.column)} = %s AND d.{_column(device, 'confirmed')} = %s"
    )


def idle_expired(session: Any, now: float | None = None) -> bool:
    last = session.get(LAST_ACTIVITY_KEY)
    if last is None:
        return False
    return (now or time.time()) - float(last) > float(settings.STAFF_IDLE_MINUTES) * 60


def touch(session: Any, now: float | None = None) -> None:
    session[LAST_ACTIVITY_KEY] = now or time.time()
