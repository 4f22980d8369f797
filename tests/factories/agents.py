"""agents: staff accounts with their profile, and Django test clients signed in as them."""

import itertools
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client

from agents.models import StaffProfile
from chat.models import Queue
from tests.support.ws import verified_session_cookie

_n = itertools.count(1)


def staff(
    *,
    role: str = "advisor",
    queues_: list[str] | None = None,
    capacity: int = 3,
    is_staff_user: bool = False,
    **extra: Any,
) -> Any:
    """A user with a staff profile (`role`, `capacity`, on the `queues_`, general by default)."""
    n = next(_n)
    user = get_user_model().objects.create_user(
        username=f"{role}{n}", password="x-test-password-1", is_staff=is_staff_user, is_superuser=is_staff_user
    )
    profile = StaffProfile.objects.create(
        user=user, role=role, display_name=f"{role.title()}{n}", capacity=capacity, **extra
    )
    profile.queues.set(Queue.objects.filter(slug__in=queues_ or ["general"]))
    return user


staff_async = sync_to_async(staff)


def signed_in(user: Any) -> Client:
    """A test client with the user's real session, past two-factor."""
    client = Client()
    name, value = verified_session_cookie(user).split("=", 1)
    client.cookies[name] = value
    return client
