"""Supervisor reports over a date range, computed from the kept statistics (never from message
text), so they survive the retention purge."""

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from agents.models import ContactStatistic
from chat.feedback import feedback_totals
from risk.models import Assessment, Referral, RiskStatistic
from risk.statistics import checklist_figures

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


def period(start: date, end: date) -> QuerySet[ContactStatistic]:
    zone = timezone.get_current_timezone()
    since = datetime.combine(start, time.min, tzinfo=zone)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
    return ContactStatistic.objects.filter(contact_at__gte=since, contact_at__lt=until)


def build(start: date, end: date) -> dict[str, Any]:
    rows = list(period(start, end))
    answered = [r for r in rows if r.answered]
    waits = [r.wait_seconds for r in answered if r.wait_seconds is not None]
    durations = [r.duration_seconds for r in answered if r.duration_seconds is not None]
    by_day = Counter(timezone.localtime(r.contact_at).date() for r in rows)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    hours = Counter(r.hour for r in rows)
    about = Counter(r.about for r in rows)
    outcomes = Counter(r.outcome for r in answered)
    # Known to the product, or said by the visitor in the end-of-chat record.
    returning = sum(1 for r in rows if r.returning or r.said_returning == "yes")
    levels, criteria = _risk_figures(start, end)
    feedback = feedback_totals(start=start, end=end)
    series = [
        Series("by_hour", "Contacts by hour of day", [(f"{h:02d}:00", hours.get(h, 0)) for h in range(24)]),
        Series("by_day", "Contacts by day", [(d.isoformat(), by_day.get(d, 0)) for d in days]),
        Series(
            "weekday", "Contacts by weekday", [(WEEKDAYS[n], sum(1 for r in rows if r.weekday == n)) for n in range(7)]
        ),
        Series("who", "Who made contact", [(ABOUT_LABELS.get(k, k), v) for k, v in about.most_common()]),
        Series(
            "returning",
            "New and returning",
            [("New", len(rows) - returning), ("Returning", returning)],
        ),
        Series(
            "outcomes", "Outcomes of answered chats", [(OUTCOME_LABELS.get(k, k), v) for k, v in outcomes.most_common()]
        ),
        Series("risk", "Risk levels reached", sorted(levels.items())),
        Series("marac", "MARAC referrals by criterion", sorted(criteria.items())),
        # Optional and anonymous: counts only, never linked to a chat (chat/feedback.py).
        Series("feedback", "Did this chat help? (visitors' answers)", feedback["rows"] if feedback["total"] else []),
    ]
    referrals = sum(v for k, v in outcomes.items() if k.startswith("referred_"))
    since, until = _bounds(start, end)
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
        "checklist": checklist_figures(since=since, until=until),
    }


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The period's first moment and the moment after its last, in local time."""
    zone = timezone.get_current_timezone()
    return datetime.combine(start, time.min, tzinfo=zone), datetime.combine(
        end + timedelta(days=1), time.min, tzinfo=zone
    )


def _risk_figures(start: date, end: date) -> tuple[Counter[str], Counter[str]]:
    """Risk levels reached (the highest per case among its assessments in the range) and MARAC
    referrals submitted in the range by criterion. Cases and referrals outlive the purge."""
    since, until = _bounds(start, end)
    order = {"standard": 0, "medium": 1, "high": 2}
    highest: dict[Any, str] = {}
    for case_id, level in Assessment.objects.filter(created_at__gte=since, created_at__lt=until).values_list(
        "case_id", "level"
    ):
        if order.get(level, 0) >= order.get(highest.get(case_id, "standard"), 0):
            highest[case_id] = level
    # Erased cases leave their figures behind, anonymously (risk.models.RiskStatistic).
    erased = RiskStatistic.objects.filter(at__gte=since, at__lt=until)
    for group, level in erased.filter(kind=RiskStatistic.Kind.ASSESSMENT).values_list("group", "level"):
        if order.get(level, 0) >= order.get(highest.get(group, "standard"), 0):
            highest[group] = level
    levels = Counter(level.capitalize() for level in highest.values())
    criteria: Counter[str] = Counter()
    for keys in (
        Referral.objects.filter(submitted_at__gte=since, submitted_at__lt=until)
        .exclude(state=Referral.State.WITHDRAWN)
        .values_list("criteria", flat=True)
    ):
        criteria.update(CRITERIA_LABELS.get(key, key) for key in keys)
    for keys in erased.filter(kind=RiskStatistic.Kind.REFERRAL).values_list("criteria", flat=True):
        criteria.update(CRITERIA_LABELS.get(key, key) for key in keys)
    return levels, criteria


CRITERIA_LABELS = {
    "visible_high_risk": "Visible high risk",
    "professional_judgement": "Professional judgement",
    "potential_escalation": "Potential escalation",
    "repeat": "Repeat",
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
    figures = report["checklist"]
    for table in figures["tables"]:
        for index, column in enumerate(figures["columns"]):
            key = f"checklist_{table.key}"
            out.append([key, f"{column.title}: {table.base_label}", table.base[index].csv()])
            out.extend([key, f"{column.title}: {line.label}", line.cells[index].csv()] for line in table.lines)
    return out
