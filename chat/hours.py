"""Opening hours: whether the chat is open now, and the week as a visitor reads it.

Hours are wall-clock times in the helpline's time zone (Schedule); a period closing at 00:00
runs to midnight. A holiday replaces that date's hours (closed all day when it has none)."""

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone, translation
from django.utils.dates import WEEKDAYS

from chat import reference
from chat.setup_models import Holiday, OpeningHours, Schedule

Period = tuple[time, time]
MIDNIGHT = time(0, 0)


@reference.memo(ttl=10, models=("chat.schedule",))
def _zone() -> ZoneInfo:
    schedule = Schedule.objects.first()
    return ZoneInfo(schedule.time_zone if schedule else "Europe/London")


def _contains(period: Period, moment: time) -> bool:
    opens, closes = period
    return opens <= moment and (closes == MIDNIGHT or moment < closes)


@reference.memo(ttl=10, models=("chat.openinghours",))
def _week() -> dict[int, list[Period]]:
    week: dict[int, list[Period]] = {day: [] for day in range(7)}
    for row in OpeningHours.objects.all():
        week[row.weekday].append((row.opens, row.closes))
    return week


@reference.memo(ttl=10, models=("chat.holiday",))
def _holidays(first: date) -> dict[date, Holiday]:
    """Holidays of the two weeks from `first`."""
    return {h.date: h for h in Holiday.objects.filter(date__gte=first, date__lte=first + timedelta(days=14))}


def _periods_on(day: date, week: dict[int, list[Period]], holidays: dict[date, Holiday]) -> list[Period]:
    holiday = holidays.get(day)
    if holiday is not None:
        if holiday.opens is None or holiday.closes is None:
            return []
        return [(holiday.opens, holiday.closes)]
    return week[day.weekday()]


def _label(period: Period) -> str:
    opens, closes = period
    if opens == MIDNIGHT and closes == MIDNIGHT:
        return translation.gettext("Open 24 hours")
    return f"{opens:%H:%M}\u2013{'24:00' if closes == MIDNIGHT else f'{closes:%H:%M}'}"


def opening_status(*, now: datetime | None = None, language: str = "en") -> dict[str, Any]:
    """Open now or not, when it next opens (within two weeks), today's holiday, and the week."""
    zone = _zone()
    local = (now or timezone.now()).astimezone(zone)
    week = _week()
    holidays = _holidays(local.date())
    today = _periods_on(local.date(), week, holidays)
    is_open = any(_contains(period, local.time()) for period in today)
    next_open = None
    if not is_open:
        for offset in range(15):
            day = local.date() + timedelta(days=offset)
            starts = sorted(o for o, _ in _periods_on(day, week, holidays) if offset or o > local.time())
            if starts:
                next_open = datetime.combine(day, starts[0], tzinfo=zone)
                break
    with translation.override(language):
        days = [
            {
                "weekday": weekday,
                "name": str(WEEKDAYS[weekday]),
                "hours": [_label(p) for p in sorted(week[weekday])] or [translation.gettext("Closed")],
            }
            for weekday in range(7)
        ]
        holiday = holidays.get(local.date())
    return {
        "open": is_open,
        "time_zone": zone.key,
        "next_open": next_open.isoformat() if next_open else None,
        "holiday": holiday.name if holiday else None,
        "week": days,
    }


def is_open(*, now: datetime | None = None) -> bool:
    return bool(opening_status(now=now)["open"])
