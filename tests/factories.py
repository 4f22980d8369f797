import itertools
from typing import Any

from django.contrib.auth import get_user_model

from agents.models import StaffProfile
from chat import defaults
from chat.models import Queue

_n = itertools.count(1)


def queues() -> dict[str, Queue]:
    defaults.seed_defaults()
    made = {}
    for slug, about, default in [
        ("general", ["myself", "someone_i_know"], True),
        ("perpetrator", ["own_behaviour"], False),
        ("professionals", ["professional"], False),
    ]:
        made[slug], _ = Queue.objects.get_or_create(
            slug=slug, defaults={"name": slug.title(), "about": about, "is_default": default}
        )
    return made


def staff(
    *,
    role: str = "advisor",
    queues_: list[str] | None = None,
    capacity: int = 3,
    is_staff_user: bool = False,
    **extra: Any,
) -> Any:
    n = next(_n)
    user = get_user_model().objects.create_user(
        username=f"{role}{n}", password="x-test-password-1", is_staff=is_staff_user, is_superuser=is_staff_user
    )
    profile = StaffProfile.objects.create(
        user=user, role=role, display_name=f"{role.title()}{n}", capacity=capacity, **extra
    )
    profile.queues.set(Queue.objects.filter(slug__in=queues_ or ["general"]))
    return user
