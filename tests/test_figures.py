"""The published figures: hand-worked values, small counts never shown, totals that add up over
random periods (hypothesis), the page, the printable page, the CSV and the demo history."""

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from agents.models import ContactStatistic
from chat import figures
from chat.figures_demo import HistoryExists, history_fill
from tests import factories
from tests.support.depth import depth
from tests.support.ws import verified_session_cookie

LONDON = ZoneInfo("Europe/London")
SINGLE = ("channel", "queue", "who", "gender", "age", "returning")
MULTIPLE = ("services", "referrals")


def contact(day: date, **fields: Any) -> ContactStatistic:
    at = datetime(day.year, day.month, day.day, 10, tzinfo=LONDON)
    values: dict[str, Any] = {"weekday": day.weekday(), "hour": 10, "answered": True, "queue": "general"}
    return ContactStatistic(contact_at=at, **(values | fields))


def by_key(report: dict[str, Any]) -> dict[str, figures.Breakdown]:
    return {b.key: b for b in report["breakdowns"]}


def counts(breakdown: figures.Breakdown, side: str = "now") -> dict[str, int | None]:
    return {line.key: getattr(line, side).count for line in breakdown.lines}


@pytest.mark.django_db
def test_figures_match_hand_worked_values(settings: Any) -> None:
    settings.FIGURES_SMALL_COUNT = 5
    march, year_before = date(2026, 3, 10), date(2025, 3, 10)
    rows = (
        # 12 women, 6 men, 2 not said; 16 recorded; 10 with emotional support, 3 with legal information.
        [
            contact(march, gender="woman", recorded=True, services=["emotional_support"], duration_seconds=600 * n)
            for n in range(1, 11)
        ]
        + [
            contact(march, gender="woman", recorded=True, services=["legal_information"], referrals=["police"])
            for _ in range(2)
        ]
        + [
            contact(march, gender="man", recorded=True, services=["legal_information"], referrals=["police"])
            for _ in range(1)
        ]
        + [contact(march, gender="man", recorded=True, referrals=["police"] * 1) for _ in range(3)]
        + [contact(march, gender="man", returning=True) for _ in range(2)]
        + [contact(march, said_returning="yes", answered=False, queue="perpetrator") for _ in range(2)]
        # The year before: 7 women, all recorded with emotional support.
        + [contact(year_before, gender="woman", recorded=True, services=["emotional_support"]) for _ in range(7)]
    )
    ContactStatistic.objects.bulk_create(rows)
    report = figures.build(figures.Period(date(2026, 3, 1), date(2026, 3, 31)))
    assert report["earlier"] == figures.Period(date(2025, 3, 1), date(2025, 3, 31))
    assert report["now"]["contacts"].count == 20 and report["before"]["contacts"].count == 7
    assert report["now"]["recorded"].count == 16 and report["now"]["answered"].count == 18
    # Returning: 2 the product knew of, 2 who said so.
    assert report["now"]["returning"].count is None  # 4: fewer than 5
    # Lengths 600..6000 s in tenths: median 3300 s = 55 min, nearest-rank p90 = 5400 s = 90 min.
    assert report["now"]["length_median"] == 55.0 and report["now"]["length_p90"] == 90.0
    assert report["before"]["length_median"] is None  # no lengths: too few to show
    sections = by_key(report)
    gender = sections["gender"]
    # 2 "not said" alone would be 20 - 12 - 6: the 6 men are hidden with it.
    assert counts(gender) == {"woman": 12, "man": None, "non_binary": 0, "another": 0, "": None}
    assert [line.now.share for line in gender.lines[:2]] == [60.0, None]
    assert counts(gender, "before") == {"woman": 7, "man": 0, "non_binary": 0, "another": 0, "": 0}
    services = sections["services"]
    assert services.base_now.count == 16 and services.multiple
    assert counts(services) == {"emotional_support": 10, "legal_information": None}
    assert services.lines[0].now.share == 62.5 and services.lines[0].before.share == 100.0
    assert counts(sections["referrals"]) == {"police": 6}
    # 2 in the perpetrator queue alone would be worked out from the total: the next smallest
    # (here the only other) goes too.
    queue = sections["queue"]
    assert counts(queue)["perpetrator"] is None and counts(queue)["general"] is None
    returning = sections["returning"]
    assert counts(returning) == {"new": None, "returning": None}  # 16 and 4: 4 alone would show
    lines = figures.summary_lines(report)
    assert ("Returning contacts", "fewer than 5", "0") in lines
    assert ("Chat length, median (minutes)", "55", "too few to show") in lines


@pytest.mark.django_db
def test_a_choice_removed_later_keeps_its_line() -> None:
    ContactStatistic.objects.bulk_create(
        [contact(date(2026, 5, 1), recorded=True, services=["old_service"]) for _ in range(6)]
    )
    services = by_key(figures.build(figures.Period(date(2026, 5, 1), date(2026, 5, 1))))["services"]
    assert counts(services) == {"old_service": 6}


def test_the_year_before_of_a_leap_day() -> None:
    assert figures.Period(date(2028, 2, 1), date(2028, 2, 29)).year_before() == figures.Period(
        date(2027, 2, 1), date(2027, 2, 28)
    )


GENDERS = st.sampled_from(["", "woman", "man", "non_binary"])
ROWS = st.lists(
    st.tuples(
        st.integers(300, 800),  # days after 1 Jan 2025
        st.sampled_from(["general", "perpetrator", "professionals", ""]),
        st.sampled_from(["", "myself", "someone_i_know", "own_behaviour"]),
        GENDERS,
        st.booleans(),  # recorded
        st.lists(st.sampled_from(["emotional_support", "legal_information", "information"]), max_size=3),
        st.booleans(),  # returning
    ),
    max_size=120,
)
START = date(2025, 1, 1)


def seed_rows(rows: list[tuple[Any, ...]]) -> None:
    ContactStatistic.objects.all().delete()
    ContactStatistic.objects.bulk_create(
        [
            contact(
                START + timedelta(days=offset),
                queue=queue,
                about=about,
                gender=gender,
                recorded=recorded,
                services=services if recorded else [],
                returning=returning,
            )
            for offset, queue, about, gender, recorded, services, returning in rows
        ]
    )


HYPOTHESIS = hypothesis_settings(
    max_examples=depth(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.django_db
def test_totals_add_up_over_random_periods(settings: Any) -> None:
    settings.FIGURES_SMALL_COUNT = 1  # every count shown: the raw arithmetic

    @HYPOTHESIS
    @given(rows=ROWS, first=st.integers(365, 800), length=st.integers(0, 365), cut=st.integers(0, 365))
    def check(rows: list[tuple[Any, ...]], first: int, length: int, cut: int) -> None:
        seed_rows(rows)
        span = figures.Period(START + timedelta(days=first), START + timedelta(days=first + length))
        report = figures.build(span)
        contacts = report["now"]["contacts"].count
        expected = sum(1 for r in rows if first <= r[0] <= first + length)
        assert contacts == expected
        sections = by_key(report)
        for key in SINGLE:
            assert sum(line.now.count or 0 for line in sections[key].lines) == contacts, key
            assert sum(line.before.count or 0 for line in sections[key].lines) == report["before"]["contacts"].count
            if contacts:
                assert abs(sum(line.now.share or 0 for line in sections[key].lines) - 100) < 0.06 * len(
                    sections[key].lines
                )
        for key in MULTIPLE:
            for line in sections[key].lines:
                assert (line.now.count or 0) <= (sections[key].base_now.count or 0)
        # The year before is the same figure as asking for it directly.
        earlier = figures.build(report["earlier"])
        assert earlier["now"]["contacts"].count == report["before"]["contacts"].count
        # Two periods side by side add up to the period they cover.
        if length == 0:
            return
        split = cut % length
        head = figures.build(figures.Period(span.start, span.start + timedelta(days=split)))
        tail = figures.build(figures.Period(span.start + timedelta(days=split + 1), span.end))
        assert head["now"]["contacts"].count + tail["now"]["contacts"].count == contacts
        for key in SINGLE + MULTIPLE:
            parts = [counts(by_key(head)[key]), counts(by_key(tail)[key])]
            for choice, total in counts(sections[key]).items():
                assert total == sum((part.get(choice) or 0) for part in parts), (key, choice)

    check()


@pytest.mark.django_db
def test_no_small_count_is_ever_shown_or_worked_out(settings: Any) -> None:
    settings.FIGURES_SMALL_COUNT = 5

    @HYPOTHESIS
    @given(rows=ROWS, first=st.integers(300, 800), length=st.integers(0, 365))
    @example(
        rows=[(400, "general", "myself", "woman", False, [], False)] * 6 + [(400, "", "", "man", True, [], True)] * 2,
        first=400,
        length=0,
    )
    def check(rows: list[tuple[Any, ...]], first: int, length: int) -> None:
        seed_rows(rows)
        report = figures.build(figures.Period(START + timedelta(days=first), START + timedelta(days=first + length)))
        for side in ("now", "before"):
            for key in ("contacts", "answered", "recorded", "returning"):
                shown = report[side][key].count
                assert shown is None or shown == 0 or shown >= 5
        for breakdown in report["breakdowns"]:
            for side in ("now", "before"):
                cells = [getattr(line, side) for line in breakdown.lines]
                assert all(c.count is None or c.count == 0 or c.count >= 5 for c in cells)
                assert all(c.share is None for c in cells if c.count is None)
                base = getattr(breakdown, f"base_{side}")
                if not breakdown.multiple and base.count:
                    # With the total shown, never exactly one hidden cell: it would be the difference.
                    assert sum(1 for c in cells if c.count is None) != 1, breakdown.key
        for row in figures.csv_rows(report)[1:]:
            for cell in (row[2], row[4]):
                assert (
                    cell in ("", "<5", "x")
                    or not cell.isdigit()
                    or cell == "0"
                    or int(cell) >= 5
                    or row[0] == "summary"
                )

    check()


def client_for(user: Any) -> Client:
    client = Client()
    client.cookies["sessionid"] = verified_session_cookie(user).split("=", 1)[1]
    return client


@pytest.mark.django_db
def test_the_page_the_printable_page_and_the_csv() -> None:
    factories.queues()
    supervisor, advisor = factories.staff(role="supervisor"), factories.staff()
    ContactStatistic.objects.bulk_create(
        [contact(date(2026, 3, 2), gender="woman", recorded=True, services=["emotional_support"]) for _ in range(9)]
        + [contact(date(2026, 3, 2), gender="man") for _ in range(6)]
        + [contact(date(2026, 3, 2), queue="professionals") for _ in range(2)]
    )
    client = client_for(supervisor)
    query = {"start": "2026-03-01", "end": "2026-03-31"}
    page = client.get("/console/reports/figures/", query)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Published figures" in html and "Emotional support" in html
    assert "<td>fewer than 5</td>" in html and "<td>not shown</td>" in html
    assert "Printable page" in html and "hatch-services" in html
    printed = client.get("/console/reports/figures/print/", query)
    assert printed.status_code == 200 and b"About these figures" in printed.content
    assert b"console.css" not in printed.content and b"figures.css" in printed.content
    download = client.get("/console/reports/figures/", {**query, "format": "csv"})
    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert ["gender", "Woman", "9", "52.9", "0", ""] in rows
    assert ["gender", "Not said", "<5", "", "0", ""] in rows
    assert ["gender", "Man", "x", "", "0", ""] in rows  # hidden so the 2 cannot be worked out
    assert ["summary", "Contacts", "17", "", "0", ""] in rows
    only = client.get("/console/reports/figures/", {**query, "queue": "professionals", "format": "csv"})
    assert ["summary", "Contacts", "<5", "", "0", ""] in list(csv.reader(io.StringIO(only.content.decode())))
    narrowed = client.get("/console/reports/figures/print/", {**query, "queue": "professionals"})
    assert b"Queue: Professionals." in narrowed.content and b"Channel:" not in narrowed.content
    for bad, words in (
        ({"start": "2026-03-05", "end": "2026-03-01"}, b"start date is after"),
        ({"start": "2025-01-01", "end": "2026-03-01"}, b"at most a year"),
        ({**query, "queue": "nonsense"}, b"Select a valid choice"),
        ({"start": "yesterday", "end": "2026-03-01"}, b"Enter a valid date"),
    ):
        response = client.get("/console/reports/figures/", bad)
        assert response.status_code == 400 and words in response.content, bad
        assert client.get("/console/reports/figures/print/", bad).status_code == 400
    assert client.get("/console/reports/figures/").status_code == 200  # this year so far
    assert client_for(advisor).get("/console/reports/figures/").status_code == 403
    assert client_for(advisor).get("/console/reports/figures/print/").status_code == 403


@pytest.mark.django_db
def test_demo_history_fills_a_plausible_year_once(settings: Any) -> None:
    factories.queues()
    today = date(2026, 12, 6)
    added = history_fill(today=today)
    assert 4000 < added < 8000
    rows = list(ContactStatistic.objects.all())
    assert all(r.conversation_id is None and r.contact_at.minute == 0 for r in rows)
    assert min(r.contact_at for r in rows).date() >= today - timedelta(days=365)
    report = figures.build(figures.Period(date(2026, 1, 1), date(2026, 11, 30)))
    services = counts(by_key(report)["services"])
    assert services["emotional_support"] > services["legal_information"] > 0  # type: ignore[operator]
    assert 0.15 < report["now"]["returning"].count / report["now"]["contacts"].count < 0.4
    assert 20 < report["now"]["length_median"] < 45
    with pytest.raises(HistoryExists):
        history_fill(today=today)
    assert ContactStatistic.objects.count() == added
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="never added in production"):
        call_command("demo_setup", "--history")


@pytest.mark.django_db
def test_demo_setup_history_option() -> None:
    out = io.StringIO()
    call_command("demo_setup", "--history", stdout=out)
    assert "Demo history:" in out.getvalue() and ContactStatistic.objects.count() > 4000
    again = io.StringIO()
    call_command("demo_setup", "--history", stdout=again)
    assert "nothing was added" in again.getvalue()
    with pytest.raises(CommandError, match="1 to 5 years"):
        call_command("demo_setup", "--history", "9")
