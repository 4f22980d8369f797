"""Plausible anonymous statistics for a demo, so the figures have something to show at once
(`manage.py demo_setup --history`). The shapes follow what helplines publish: most contacts
from the person harmed, busier evenings and Mondays, about one in four returning, chats of half
an hour or so, several services per chat. Never in production, never over existing figures."""

import random
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from agents.models import ContactStatistic
from chat.setup_models import ReferralDestination, ServiceGiven

# queue, share of contacts, who they are about (with weights)
QUEUES = [
    ("general", 0.8, [("myself", 0.78), ("someone_i_know", 0.17), ("", 0.05)]),
    ("perpetrator", 0.1, [("own_behaviour", 1.0)]),
    ("professionals", 0.1, [("professional", 1.0)]),
]
SERVICE_CHANCE = {
    "emotional_support": 0.58,
    "information": 0.45,
    "legal_information": 0.34,
    "safety_planning": 0.3,
    "psychological_support": 0.12,
    "housing_information": 0.15,
    "children_safety": 0.1,
}
REFERRAL_CHANCE = {
    "police": 0.28,
    "social_services": 0.15,
    "idva_outreach": 0.12,
    "legal_advice": 0.1,
    "refuge": 0.06,
    "health": 0.05,
    "addiction": 0.04,
    "housing": 0.05,
    "other_helpline": 0.03,
}
GENDER = [("woman", 0.62), ("man", 0.1), ("non_binary", 0.01), ("another", 0.005), ("", 0.265)]
AGE = [
    ("under_18", 0.03),
    ("18_24", 0.12),
    ("25_34", 0.22),
    ("35_44", 0.2),
    ("45_54", 0.1),
    ("55_64", 0.05),
    ("65_plus", 0.02),
    ("", 0.26),
]
HOUR_WEIGHT = [1, 1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 7, 7, 7, 7, 8, 9, 10, 11, 11, 9, 6, 3]
WEEKDAY_WEIGHT = [1.25, 1.1, 1.0, 1.0, 0.95, 0.8, 0.9]


class HistoryExists(Exception):
    pass


def _pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in weighted], weights=[w for _, w in weighted])[0]


def _contact(rng: random.Random, day: date, slugs: tuple[set[str], set[str]]) -> ContactStatistic:
    hour = rng.choices(range(24), weights=HOUR_WEIGHT)[0]
    local = datetime.combine(day, time(hour), tzinfo=timezone.get_current_timezone())
    queue, _, about = rng.choices(QUEUES, weights=[q[1] for q in QUEUES])[0]
    answered = rng.random() < 0.86
    recorded = answered and rng.random() < 0.8
    services = [s for s, p in SERVICE_CHANCE.items() if s in slugs[0] and rng.random() < p] if recorded else []
    if queue == "perpetrator" and recorded and "behaviour_change" in slugs[0]:
        services.append("behaviour_change")
    referrals = [r for r, p in REFERRAL_CHANCE.items() if r in slugs[1] and rng.random() < p] if recorded else []
    if queue == "perpetrator" and recorded and "perpetrator_programme" in slugs[1] and rng.random() < 0.5:
        referrals.append("perpetrator_programme")
    returning = rng.random() < 0.2
    return ContactStatistic(
        contact_at=local,
        weekday=day.weekday(),
        hour=hour,
        queue=queue,
        about=_pick(rng, about),
        language="en" if rng.random() < 0.93 else rng.choice(["cy", "pl", "ar"]),
        returning=returning,
        in_danger=rng.random() < 0.07,
        answered=answered,
        wait_seconds=int(rng.lognormvariate(4.5, 0.9)) if answered else None,
        duration_seconds=int(rng.lognormvariate(7.6, 0.55)) if answered else None,
        close_reason="staff_ended" if answered else "visitor_left",
        outcome="",
        recorded=recorded,
        services=services,
        referrals=referrals,
        gender=_pick(rng, GENDER) if recorded else "",
        age_band=_pick(rng, AGE) if recorded else "",
        said_returning=("yes" if not returning and rng.random() < 0.1 else "") if recorded else "",
    )


def history_fill(*, today: date, years: int = 1, seed: int = 2026) -> int:
    """Fill the `years` before `today` with daily contacts; refuses if figures exist there."""
    rng = random.Random(seed)  # noqa: S311 - made-up figures, not secrets
    first = today - timedelta(days=365 * years)
    zone = timezone.get_current_timezone()
    since = datetime.combine(first, time.min, tzinfo=zone)
    until = datetime.combine(today, time.min, tzinfo=zone)
    slugs = (
        set(ServiceGiven.objects.filter(active=True).values_list("slug", flat=True)),
        set(ReferralDestination.objects.filter(active=True).values_list("slug", flat=True)),
    )
    with transaction.atomic():
        if ContactStatistic.objects.filter(contact_at__gte=since, contact_at__lt=until).exists():
            raise HistoryExists(f"There are figures already between {first} and {today}; nothing was added.")
        rows: list[ContactStatistic] = []
        for offset in range((today - first).days):
            day = first + timedelta(days=offset)
            # A slow rise over the years, as more people learn the chat exists.
            mean = 14 * WEEKDAY_WEIGHT[day.weekday()] * (1 + 0.15 * offset / 365)
            rows.extend(_contact(rng, day, slugs) for _ in range(max(0, round(rng.gauss(mean, mean**0.5)))))
        ContactStatistic.objects.bulk_create(rows, batch_size=500)
    return len(rows)
