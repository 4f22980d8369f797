"""Supervisor reports, checked against figures worked out by hand from a seeded data set."""

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from agents.models import ContactStatistic
from chat import reports
from chat.models import Conversation, Visitor
from chat.retention import statistics_roll_up
from risk import reports as risk_reports
from risk.models import Assessment
from tests import factories
from tests.factories.risk import FULL_ANSWERS, FULL_PROFESSIONAL
from tests.support.ws import verified_session_cookie

LONDON = ZoneInfo("Europe/London")

# (local start, about, in danger, waited seconds or None if never answered, chat seconds, outcome)
SEED = [
    (datetime(2026, 3, 2, 9, 5, tzinfo=LONDON), "myself", False, 30, 600, "emotional_support"),
    (datetime(2026, 3, 2, 9, 40, tzinfo=LONDON), "myself", True, 10, 1800, "referred_police"),
    (datetime(2026, 3, 2, 14, 0, tzinfo=LONDON), "someone_i_know", False, 120, 900, "information_given"),
    (datetime(2026, 3, 3, 20, 15, tzinfo=LONDON), "own_behaviour", False, 300, 1200, "referred_perpetrator_service"),
    (datetime(2026, 3, 3, 20, 50, tzinfo=LONDON), "professional", False, None, None, ""),
    (datetime(2026, 3, 4, 9, 0, tzinfo=LONDON), "myself", False, 60, 2400, "referred_refuge"),
    (datetime(2026, 3, 4, 23, 30, tzinfo=LONDON), "myself", False, None, None, ""),
    # Outside the range: not counted.
    (datetime(2026, 3, 6, 10, 0, tzinfo=LONDON), "myself", False, 5, 100, "other"),
]


def seed() -> None:
    factories.queues()
    returning_visitor = Visitor.objects.create(token_hash="r" * 64, expires_at=datetime(2027, 1, 1, tzinfo=LONDON))
    for index, (start, about, danger, waited, length, outcome) in enumerate(SEED):
        visitor = returning_visitor if index in (0, 5) else None
        if visitor is None:
            visitor = Visitor.objects.create(token_hash=f"{index:064d}", expires_at=datetime(2027, 1, 1, tzinfo=LONDON))
        queued = start + timedelta(seconds=40)
        accepted = queued + timedelta(seconds=waited) if waited is not None else None
        closed = accepted + timedelta(seconds=length) if accepted and length else queued + timedelta(seconds=200)
        conversation = Conversation.objects.create(
            visitor=visitor,
            state=Conversation.State.CLOSED,
            triage={"about": about, "in_danger": danger, "safe_to_talk": True},
            queued_at=queued,
            accepted_at=accepted,
            closed_at=closed,
            outcome=outcome,
            close_reason="staff_ended" if accepted else "visitor_left",
        )
        Conversation.objects.filter(pk=conversation.pk).update(created_at=start)


@pytest.mark.django_db
def test_figures_match_hand_computed_values() -> None:
    seed()
    assert statistics_roll_up() == 8
    assert statistics_roll_up() == 0  # idempotent
    report = reports.build(date(2026, 3, 2), date(2026, 3, 4))
    assert report["contacts"] == 7
    assert report["answered"] == 5 and report["abandoned"] == 2
    # Waits of answered chats: 10, 30, 60, 120, 300 -> median 60; nearest-rank p90 = 5th of 5 = 300.
    assert report["wait_median"] == 60 and report["wait_p90"] == 300
    # Chat lengths: 600, 900, 1200, 1800, 2400 -> median 1200, p90 2400.
    assert report["duration_median"] == 1200 and report["duration_p90"] == 2400
    assert report["referrals"] == 3
    series = {s.key: dict(s.rows) for s in report["series"]}
    assert series["by_hour"]["09:00"] == 3 and series["by_hour"]["20:00"] == 2
    assert series["by_hour"]["14:00"] == 1 and series["by_hour"]["23:00"] == 1 and series["by_hour"]["10:00"] == 0
    assert series["by_day"] == {"2026-03-02": 3, "2026-03-03": 2, "2026-03-04": 2}
    assert series["weekday"]["Monday"] == 3 and series["weekday"]["Wednesday"] == 2
    assert series["who"] == {
        "Survivor (themselves)": 4,
        "Someone they know": 1,
        "Worried about own behaviour": 1,
        "Professional": 1,
    }
    # The visitor of the first chat came back on 4 March.
    assert series["returning"] == {"New": 6, "Returning": 1}
    assert series["outcomes"]["Referred: police"] == 1 and series["outcomes"]["Emotional support"] == 1


@pytest.mark.django_db
def test_report_page_and_csv_for_supervisors_only() -> None:
    seed()
    supervisor = factories.staff(role="supervisor")
    advisor = factories.staff()
    client = Client()
    client.cookies["sessionid"] = verified_session_cookie(supervisor).split("=", 1)[1]
    page = client.get("/console/reports/", {"start": "2026-03-02", "end": "2026-03-04"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="fig-contacts">7<' in html and 'id="fig-wait-p90">300 s<' in html
    download = client.get("/console/reports/", {"start": "2026-03-02", "end": "2026-03-04", "format": "csv"})
    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert ["summary", "contacts", "7"] in rows and ["by_day", "2026-03-03", "2"] in rows
    bad = client.get("/console/reports/", {"start": "2026-03-05", "end": "2026-03-01"})
    assert bad.status_code == 400 and b"start date is after" in bad.content
    other = Client()
    other.cookies["sessionid"] = verified_session_cookie(advisor).split("=", 1)[1]
    assert other.get("/console/reports/").status_code == 403
    assert ContactStatistic.objects.count() == 8


@pytest.mark.django_db
def test_risk_levels_and_referrals_by_criterion() -> None:
    from chat.services.handoff import conversation_accept, conversation_end_staff
    from chat.services.kernel import staff_actor
    from chat.services.visitor import conversation_start, triage_submit, visitor_create
    from risk import referrals
    from risk import services as risk
    from risk.checklist import CURRENT

    factories.queues()
    advisor = factories.staff()
    factories.StaffProfile.objects.filter(user=advisor).update(availability="on_shift")
    actor = staff_actor(user_id=advisor.pk)
    levels = []
    for yes in (14, 11, 3):
        visitor, _ = visitor_create()
        conversation_start(visitor_id=visitor.pk, conn_id="c")
        conversation = triage_submit(
            visitor_id=visitor.pk, answers={"safe_to_talk": "yes", "in_danger": "no", "about": "myself"}
        )
        conversation_accept(actor=actor, conversation_id=conversation.pk)
        case = risk.case_open(user=advisor, conversation_id=conversation.pk)
        assessment = risk.assessment_start(user=advisor, case_id=case.pk)
        answers = {item.key: {"value": "yes"} for item in CURRENT.core[:yes]}
        _, result = risk.assessment_answer(user=advisor, assessment_id=assessment.pk, answers=answers)
        levels.append(result.level)
        if result.referral_due:
            referral = referrals.referral_draft(user=advisor, case_id=case.pk, assessment_id=assessment.pk)
            referrals.referral_transition(user=advisor, referral_id=referral.pk, to_state="submitted")
        conversation_end_staff(actor=actor, conversation_id=conversation.pk, outcome="other")
    assert levels == ["high", "medium", "standard"]
    today = timezone.localdate()
    report = risk_reports.build(today, today)
    # The page's order: the contact figures, the risk figures, then the visitors' feedback.
    assert [s.key for s in report["series"]] == [
        *("by_hour", "by_day", "weekday", "channel", "who", "returning", "outcomes"),
        *("risk", "marac", "feedback"),
    ]
    series = {s.key: dict(s.rows) for s in report["series"]}
    assert series["risk"] == {"High": 1, "Medium": 1, "Standard": 1}
    assert series["marac"] == {"Visible high risk": 1}


@pytest.mark.django_db
def test_checklist_figures_by_version_with_small_counts_hidden(people: dict[str, Any]) -> None:
    """Seven adult assessments (five in full, two with fewer details), two young people's ones
    and one from before the period; seven safeguarding decisions, one of them "not needed"."""
    advisor, supervisor = people["advisor"], people["supervisor"]
    case = factories.case_with_chat(advisor)
    adult = [factories.assessment_answered(advisor, case) for _ in range(5)]
    fewer = {**FULL_ANSWERS, "c14": {"value": "yes", "ticks": ["victim"]}, "k2": {"value": "no"}}
    less = {**FULL_PROFESSIONAL, "other_factors": ["disability"], "children_risk": "no"}
    adult += [factories.assessment_answered(advisor, case, answers=fewer, professional=less) for _ in range(2)]
    for _ in range(2):
        factories.assessment_answered(advisor, case, version="YP-2026.1")
    earlier = factories.assessment_answered(advisor, case)
    Assessment.objects.filter(pk=earlier.pk).update(created_at=timezone.now() - timedelta(days=40))
    for index, assessment in enumerate(adult):
        factories.safeguarding_decided(advisor, assessment, needed=index > 0)
    today = timezone.localdate()
    figures = risk_reports.build(today, today)["checklist"]
    day = today.isoformat()
    assert [c.title for c in figures["columns"]] == [
        "2026.2 · Adults (16 and over)",
        "YP-2026.1 · Young people (13 to 17)",
    ]
    tables = {t.key: t for t in figures["tables"]}

    def cells(table: str) -> dict[str, list[str]]:
        return {line.label: [cell.text() for cell in line.cells] for line in tables[table].lines}

    assert [b.text() for b in tables["ticks"].base] == ["7", "fewer than 5"]
    ticks = cells("ticks")
    assert ticks["Threats to kill: The victim"] == ["7", "fewer than 5"]
    assert ticks["Threats to kill: The children"] == ["5", "fewer than 5"]
    assert ticks["Broke bail or orders: Domestic abuse protection notice or order"] == ["7", "fewer than 5"]
    factors = cells("other_factors")
    assert factors["Disability"] == ["7", "fewer than 5"] and factors["Rural isolation"] == ["5", "fewer than 5"]
    # Five of seven: the two without would be 7 - 5, so the five are not shown either.
    assert cells("children") == {"Risks to the children": ["not shown", "fewer than 5"]}
    # Six needed and one not: the one is hidden, and the six with it, or 7 - 6 would give it away.
    assert [b.text() for b in tables["safeguarding"].base] == ["7", "0"]
    assert cells("safeguarding") == {"Referral needed": ["not shown", "0"], "No referral needed": ["fewer than 5", "0"]}
    # The page and the CSV say the same.
    client = factories.signed_in(supervisor)
    html = client.get("/console/reports/", {"start": day, "end": day}).content.decode()
    assert "The risk checklist, by version" in html and "<td>not shown</td>" in html
    assert '<th scope="row">Threats to kill: The children</th><td>5</td><td>fewer than 5</td>' in html
    download = client.get("/console/reports/", {"start": day, "end": day, "format": "csv"})
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert ["checklist_ticks", "2026.2 · Adults (16 and over): Threats to kill: The children", "5"] in rows
    assert ["checklist_safeguarding", "2026.2 · Adults (16 and over): Referral needed", "x"] in rows
    assert ["checklist_children", "YP-2026.1 · Young people (13 to 17): Risks to the children", "<5"] in rows
