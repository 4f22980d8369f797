"""Supervisor reports over a date range, computed from the kept statistics (never from message
text), so they survive the retention purge. These are the contact figures; the reports page
(risk.report_views) adds the risk figures (risk.reports)."""

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from agents.models import ContactStatistic
from chat.feedback import feedback_totals

ABOUT_LABELS = {
    "myself": "Survivor (themselves)",
    "someone_i_know": "Someone they know",
    "own_behaviour": "Worried about own behaviour",
    "professional": "Professional",
    "": "Not said",
}
OUTCOME_LABELS = {
    "information_given": "Information given",
    "emotional_support": "Emotional support",
    "referred_police": "Referred: police",
    "referred_social_services": "Referred: social services",
    "referred_refuge": "Referred: refuge",
    "referred_legal": "Referred: legal",
    "referred_health": "Referred: health",
    "referred_perpetrator_service": "Referred: perpetrator service",
    "visitor_left": "Visitor left",
    "quick_exit": "Quick exit",
    "other": "Other",
    "": "Not recorded",
}
CHANNEL_LABELS = {"web_chat": "Web chat", "telegram": "Telegram"}
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def percentile(values: list[int], fraction: float) -> int | None:
    """Nearest-rank percentile: the smallest value with at least `fraction` of values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def median(values: list[int]) -> float | None:
    return statistics.median(values) if values else None


@dataclass
class Series:
    key: str
    title: str
    rows: list[tuple[str, int]]
    total: int = field(init=False)

    def __post_init__(self) -> None:
        self.total = sum(value for _, value in self.rows)

    @property
    def bars(self) -> list[dict[str, Any]]:
        top = max((value for _, value in self.rows), default=0) or 1
        return [
            {"label": label, "value": value, "percent": round(value / top * 100, 1), "y": index * 26}
            for index, (label, value) in enumerate(self.rows)
        ]

    @property
    def height(self) -> int:
        return max(26, len(self.rows) * 26)

    @property
    def vertical(self) -> bool:
        """Long series (hours, days) read better as columns."""
        return len(self.rows) > 10

    @property
    def columns(self) -> list[dict[str, Any]]:
        top = max((value for _, value in self.rows), default=0) or 1
        width = 400 / max(1, len(self.rows))
        step = max(1, round(len(self.rows) / 8))
        return [
            {
                "label": label if index % step == 0 else "",
                "value": value,
                "x": round(20 + index * width, 1),
                "width": round(width * 0.8, 1),
                "height": round(value / top * 120, 1),
                "y": round(140 - value / top * 120, 1),
            }
            for index, (label, value) in enumerate(self.rows)
        ]


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The period's first moment and the moment after its last, in local time."""
    zone = timezone.get_current_timezone()
    return datetime.combine(start, time.min, tzinfo=zone), datetime.combine(
        end + timedelta(days=1), time.min, tzinfo=zone
    )


def period(start: date, end: date) -> QuerySet[ContactStatistic]:
    since, until = bounds(start, end)
    return ContactStatistic.objects.filter(contact_at__gte=since, contact_at__lt=until)


def build(start: date, end: date, *, more: Sequence[Series] = ()) -> dict[str, Any]:
    """The contact figures of the range; `more` are series of an app above (risk's levels and
    referrals), placed after the contacts' and before the visitors' feedback."""
    rows = list(period(start, end))
    answered = [r for r in rows if r.answered]
    waits = [r.wait_seconds for r in answered if r.wait_seconds is not None]
    durations = [r.duration_seconds for r in answered if r.duration_seconds is not None]
    by_day = Counter(timezone.localtime(r.contact_at).date() for r in rows)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    hours = Counter(r.hour for r in rows)
    about = Counter(r.about for r in rows)
    channels = Counter(r.channel for r in rows)
    outcomes = Counter(r.outcome for r in answered)
    # Known to the product, or said by the visitor in the end-of-chat record.
    returning = sum(1 for r in rows if r.returning or r.said_returning == "yes")
    feedback = feedback_totals(start=start, end=end)
    series = [
        Series("by_hour", "Contacts by hour of day", [(f"{h:02d}:00", hours.get(h, 0)) for h in range(24)]),
        Series("by_day", "Contacts by day", [(d.isoformat(), by_day.get(d, 0)) for d in days]),
        Series(
            "weekday", "Contacts by weekday", [(WEEKDAYS[n], sum(1 for r in rows if r.weekday == n)) for n in range(7)]
        ),
        Series("channel", "Contacts by channel", [(CHANNEL_LABELS.get(k, k), v) for k, v in channels.most_common()]),
        Series("who", "Who made contact", [(ABOUT_LABELS.get(k, k), v) for k, v in about.most_common()]),
        Series(
            "returning",
            "New and returning",
            [("New", len(rows) - returning), ("Returning", returning)],
        ),
        Series(
            "outcomes", "Outcomes of answered chats", [(OUTCOME_LABELS.get(k, k), v) for k, v in outcomes.most_common()]
        ),
        *more,
        # Optional and anonymous: counts only, never linked to a chat (chat/feedback.py).
        Series("feedback", "Did this chat help? (visitors' answers)", feedback["rows"] if feedback["total"] else []),
    ]
    referrals = sum(v for k, v in outcomes.items() if k.startswith("referred_"))
    return {
        "start": start,
        "end": end,
        "contacts": len(rows),
        "answered": len(answered),
        "abandoned": len(rows) - len(answered),
        "wait_median": median(waits),
        "wait_p90": percentile(waits, 0.9),
        "duration_median": median(durations),
        "duration_p90": percentile(durations, 0.9),
        "referrals": referrals,
        "series": series,
    }


def csv_rows(report: dict[str, Any]) -> list[list[Any]]:
    out: list[list[Any]] = [["section", "label", "value"]]
    for key in (
        "contacts",
        "answered",
        "abandoned",
        "wait_median",
        "wait_p90",
        "duration_median",
        "duration_p90",
        "referrals",
    ):
        out.append(["summary", key, "" if report[key] is None else report[key]])
    for series in report["series"]:
        out.extend([series.key, label, value] for label, value in series.rows)
    return out
