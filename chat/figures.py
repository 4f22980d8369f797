"""The figures a helpline publishes: shares and counts over a period with the same period a year
earlier beside them, computed from the anonymous contact statistics only (agents.ContactStatistic),
so they read the same after the chats themselves are erased.

What it guarantees:
- Single-choice breakdowns (channel, queue, who made contact, gender, age band, new or returning)
  count every contact in exactly one row ("Not said" included), so their counts add up to the
  number of contacts and their shares to 100 %.
- Several-choice breakdowns (services given, referrals) count a contact once in each row it
  names; their shares are of the chats with an end-of-chat record and may add up to more.
- No published number is under the small-count threshold (settings.FIGURES_SMALL_COUNT, 5):
  such a count reads "fewer than 5", and where one hidden cell of a single-choice breakdown
  could be worked out from the total and the others, the next smallest is hidden too ("not
  shown"; "x" in the CSV).
"""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from chat import reports
from chat.contact_record import AGE_BANDS, GENDERS
from chat.models import Queue
from chat.reports import ABOUT_LABELS, median, percentile, period
from chat.setup_models import ReferralDestination, ServiceGiven
from chat.small_counts import Shown, hide_small, shown_total, small_count

CHANNEL_LABELS = reports.CHANNEL_LABELS
# What the figures read of each statistics row (as a named tuple: a year is thousands of rows).
FIELDS = [
    "queue",
    "channel",
    "about",
    "gender",
    "age_band",
    "services",
    "referrals",
    "returning",
    "said_returning",
    "answered",
    "recorded",
    "duration_seconds",
]
Row = Any
NOT_SAID = "Not said"


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    def year_before(self) -> "Period":
        return Period(_year_back(self.start), _year_back(self.end))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _year_back(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def presets(today: date) -> list[tuple[str, Period]]:
    """Ready-made periods: this year and month so far, and the last whole ones."""
    first_of_month = today.replace(day=1)
    last_month_end = first_of_month - timedelta(days=1)
    return [
        ("This year so far", Period(today.replace(month=1, day=1), today)),
        ("Last year", Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))),
        ("This month so far", Period(first_of_month, today)),
        ("Last month", Period(last_month_end.replace(day=1), last_month_end)),
    ]


@dataclass(frozen=True)
class Line:
    key: str
    label: str
    now: Shown
    before: Shown


@dataclass(frozen=True)
class Breakdown:
    key: str
    title: str
    multiple: bool
    base_label: str
    base_now: Shown
    base_before: Shown
    lines: list[Line]

    @property
    def bars(self) -> list[dict[str, Any]]:
        """Paired bars, drawn to the share (or to the count where there is no share)."""
        values = [v for line in self.lines for v in (_bar_value(line.now), _bar_value(line.before))]
        top = max(values, default=0.0) or 1.0
        return [
            {
                "label": line.label,
                "y": index * 40,
                "now": round(_bar_value(line.now) / top * 220, 1),
                "before": round(_bar_value(line.before) / top * 220, 1),
                "now_text": line.now.share_text() or line.now.text(),
                "before_text": line.before.share_text() or line.before.text(),
            }
            for index, line in enumerate(self.lines)
        ]

    @property
    def height(self) -> int:
        return max(40, len(self.lines) * 40)


def _bar_value(shown: Shown) -> float:
    if shown.count is None:
        return 0.0
    return shown.share if shown.share is not None else float(shown.count)


def _column(counts: list[int], base: int, *, additive: bool) -> list[Shown]:
    hidden = hide_small(counts, additive=additive, total=base)
    base_hidden = 0 < base < small_count()
    return [
        Shown(None, guard=count >= small_count())
        if hide
        else Shown(count, None if base_hidden or base == 0 else round(count / base * 100, 1))
        for count, hide in zip(counts, hidden, strict=True)
    ]


def _breakdown(
    key: str,
    title: str,
    choices: list[tuple[str, str]],
    pick: Callable[[Row], Iterable[str]],
    now: list[Row],
    before: list[Row],
    *,
    multiple: bool = False,
    base: Callable[[Row], bool] = lambda row: True,
    base_label: str = "contacts",
) -> Breakdown:
    """One breakdown over both periods. `choices` are (key, label) in order; a key a row names
    that is not among them (a choice since removed) gets a line of its own, labelled by key."""
    columns: list[tuple[list[int], int]] = []
    order = list(choices)
    tallies: list[Counter[str]] = []
    for rows in (now, before):
        counted = [row for row in rows if base(row)]
        tally: Counter[str] = Counter()
        for row in counted:
            tally.update(set(pick(row)) if multiple else [next(iter(pick(row)))])
        tallies.append(tally)
        known = {k for k, _ in order}
        order.extend((k, k) for k in sorted(tally) if k not in known)
    for tally, rows in zip(tallies, (now, before), strict=True):
        columns.append(([tally.get(k, 0) for k, _ in order], sum(1 for row in rows if base(row))))
    (counts_now, base_now), (counts_before, base_before) = columns
    shown_now = _column(counts_now, base_now, additive=not multiple)
    shown_before = _column(counts_before, base_before, additive=not multiple)
    lines = [
        Line(k, label, a, b)
        for (k, label), a, b, x, y in zip(order, shown_now, shown_before, counts_now, counts_before, strict=True)
        if x or y or not multiple
    ]
    return Breakdown(key, title, multiple, base_label, shown_total(base_now), shown_total(base_before), lines)


def _is_returning(row: Row) -> bool:
    return row.returning or row.said_returning == "yes"


def rows_for(span: Period, *, queue: str | None = None, channel: str | None = None) -> list[Row]:
    """The statistics rows of a period; `queue` or `channel` None means all of them."""
    rows = period(span.start, span.end)
    if queue is not None:
        rows = rows.filter(queue=queue)
    if channel is not None:
        rows = rows.filter(channel=channel)
    return list(rows.values_list(*FIELDS, named=True))


def _summary(rows: list[Row]) -> dict[str, Any]:
    durations = [r.duration_seconds for r in rows if r.answered and r.duration_seconds is not None]
    enough = len(durations) >= small_count()
    middle = median(durations) if enough else None
    p90 = percentile(durations, 0.9) if enough else None
    return {
        "contacts": shown_total(len(rows)),
        "answered": shown_total(sum(1 for r in rows if r.answered)),
        "recorded": shown_total(sum(1 for r in rows if r.recorded)),
        "returning": shown_total(sum(1 for r in rows if _is_returning(r))),
        "length_median": None if middle is None else round(middle / 60, 1),
        "length_p90": None if p90 is None else round(p90 / 60, 1),
    }


def queue_choices() -> list[tuple[str, str]]:
    return [(q.slug, q.name) for q in Queue.objects.order_by("name")] + [("", "No queue")]


def channel_choices() -> list[tuple[str, str]]:
    return list(CHANNEL_LABELS.items())


def _recorded(row: Row) -> bool:
    return row.recorded


# Several-choice breakdowns count the chats with an end-of-chat record.
RECORDED: dict[str, Any] = {"multiple": True, "base": _recorded, "base_label": "chats with an end-of-chat record"}


def build(span: Period, *, queue: str | None = None, channel: str | None = None) -> dict[str, Any]:
    """Every published figure for `span` and for the same dates a year earlier."""
    earlier = span.year_before()
    now = rows_for(span, queue=queue, channel=channel)
    before = rows_for(earlier, queue=queue, channel=channel)
    services = [(s.slug, s.label) for s in ServiceGiven.objects.all()]
    referrals = [(r.slug, r.label) for r in ReferralDestination.objects.all()]
    about = [(k, v) for k, v in ABOUT_LABELS.items() if k] + [("", NOT_SAID)]
    breakdowns = [
        _breakdown("channel", "Contacts by channel", channel_choices(), lambda r: [r.channel], now, before),
        _breakdown("queue", "Contacts by queue", queue_choices(), lambda r: [r.queue], now, before),
        _breakdown("who", "Who made contact", about, lambda r: [r.about], now, before),
        _breakdown(
            "gender", "Gender, as the visitor said", [*GENDERS, ("", NOT_SAID)], lambda r: [r.gender], now, before
        ),
        _breakdown(
            "age", "Age band, as the visitor said", [*AGE_BANDS, ("", NOT_SAID)], lambda r: [r.age_band], now, before
        ),
        _breakdown(
            "returning",
            "New and returning contacts",
            [("new", "New"), ("returning", "Returning")],
            lambda r: ["returning" if _is_returning(r) else "new"],
            now,
            before,
        ),
        _breakdown("services", "Services given", services, lambda r: r.services, now, before, **RECORDED),
        _breakdown("referrals", "Referrals and signposting", referrals, lambda r: r.referrals, now, before, **RECORDED),
    ]
    return {
        "period": span,
        "earlier": earlier,
        "queue": None if queue is None else dict(queue_choices()).get(queue, queue),
        "channel": None if channel is None else CHANNEL_LABELS.get(channel, channel),
        "threshold": small_count(),
        "now": _summary(now),
        "before": _summary(before),
        "breakdowns": breakdowns,
    }


SUMMARY_LABELS = [
    ("contacts", "Contacts"),
    ("answered", "Answered by an advisor"),
    ("recorded", "With an end-of-chat record"),
    ("returning", "Returning contacts"),
    ("length_median", "Chat length, median (minutes)"),
    ("length_p90", "Chat length, 90th percentile (minutes)"),
]


def summary_lines(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    def text(value: Any) -> str:
        if value is None:
            return "too few to show"
        return value.text() if isinstance(value, Shown) else f"{value:g}"

    return [(label, text(report["now"][key]), text(report["before"][key])) for key, label in SUMMARY_LABELS]


def csv_rows(report: dict[str, Any]) -> list[list[str]]:
    """The published figures as CSV: small counts read "<5" and carry no share."""
    span, earlier = report["period"], report["earlier"]
    out = [
        [
            "section",
            "label",
            f"count {span.start}..{span.end}",
            "share %",
            f"count {earlier.start}..{earlier.end}",
            "share %",
        ]
    ]
    for key, label in SUMMARY_LABELS:
        values = [report[side][key] for side in ("now", "before")]
        cells = [v.csv() if isinstance(v, Shown) else ("" if v is None else f"{v:g}") for v in values]
        out.append(["summary", label, cells[0], "", cells[1], ""])
    for breakdown in report["breakdowns"]:
        out.append(
            [
                breakdown.key,
                f"base: {breakdown.base_label}",
                breakdown.base_now.csv(),
                "",
                breakdown.base_before.csv(),
                "",
            ]
        )
        for line in breakdown.lines:
            out.append(
                [
                    breakdown.key,
                    line.label,
                    line.now.csv(),
                    "" if line.now.share is None else f"{line.now.share:.1f}",
                    line.before.csv(),
                    "" if line.before.share is None else f"{line.before.share:.1f}",
                ]
            )
    return out
