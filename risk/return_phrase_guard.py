"""How often a wrong return phrase may be tried (settings.RISK["RETURN_PHRASE_*"]).

Wrong tries are counted in the database, over a moving window, so that every process sees the
same count. For one member of staff: after SLOW_AFTER wrong tries, each next try waits
SLOW_SECONDS, doubled for every wrong try beyond that; after LOCK_AFTER they are refused until
enough of them have left the window. For everyone together: after GLOBAL_LOCK_AFTER wrong tries,
nobody may try until the window moves on.

A try is counted as a miss before its phrase is checked (and forgiven when the phrase was
right), so tries sent at the same time are counted too; a person's tries are taken one at a time
(their staff row is locked while one is admitted).
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agents.models import StaffProfile
from risk.return_phrase_models import ReturnPhraseMiss


@dataclass(frozen=True)
class Limits:
    window: timedelta
    slow_after: int
    slow_seconds: float
    lock_after: int
    global_lock_after: int


def limits() -> Limits:
    risk = settings.RISK
    return Limits(
        window=timedelta(minutes=float(risk["RETURN_PHRASE_WINDOW_MINUTES"])),
        slow_after=int(risk["RETURN_PHRASE_SLOW_AFTER"]),
        slow_seconds=float(risk["RETURN_PHRASE_SLOW_SECONDS"]),
        lock_after=int(risk["RETURN_PHRASE_LOCK_AFTER"]),
        global_lock_after=int(risk["RETURN_PHRASE_GLOBAL_LOCK_AFTER"]),
    )


@dataclass(frozen=True)
class Refusal:
    """Why a try is not admitted now: `code` is "slow_down" (wait a little) or "too_many_tries"
    (refused for a while); `retry_after` in whole seconds."""

    code: str
    retry_after: int


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


def refusal(*, actor_id: int, now: datetime, rules: Limits) -> Refusal | None:
    """Whether `actor_id` may try a phrase at `now`, given the misses in the window."""
    since = now - rules.window
    everyone = list(ReturnPhraseMiss.objects.filter(at__gt=since).order_by("at").values_list("at", flat=True))
    if len(everyone) >= rules.global_lock_after:
        # Open again when enough misses have left the window to bring the count under the limit.
        return Refusal(
            "too_many_tries", _seconds(everyone[len(everyone) - rules.global_lock_after] + rules.window - now)
        )
    mine = list(
        ReturnPhraseMiss.objects.filter(actor_id=actor_id, at__gt=since).order_by("at").values_list("at", flat=True)
    )
    if len(mine) >= rules.lock_after:
        return Refusal("too_many_tries", _seconds(mine[len(mine) - rules.lock_after] + rules.window - now))
    if len(mine) >= rules.slow_after:
        wait = timedelta(seconds=rules.slow_seconds * 2 ** (len(mine) - rules.slow_after))
        if now < mine[-1] + wait:
            return Refusal("slow_down", _seconds(mine[-1] + wait - now))
    return None


def try_admit(*, user: Any) -> Refusal | int:
    """Admit one try by `user`: a Refusal, or the id of the miss counted for it (forgive it when
    the phrase was right). Committed at once, whatever the caller's transaction does next."""
    rules = limits()
    with transaction.atomic():
        StaffProfile.objects.select_for_update().filter(user_id=user.pk).first()
        now = timezone.now()
        refused = refusal(actor_id=user.pk, now=now, rules=rules)
        if refused is not None:
            return refused
        ReturnPhraseMiss.objects.filter(at__lte=now - rules.window).delete()
        return ReturnPhraseMiss.objects.create(actor_id=user.pk, at=now).pk


def forgive(*, miss_id: int) -> None:
    """The try was right: it is no miss."""
    ReturnPhraseMiss.objects.filter(pk=miss_id).delete()
