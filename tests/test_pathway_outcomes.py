"""A MARAC meeting's outcome and its actions: recorded by a supervisor when the meeting heard the
referral (which moves it to heard), each action owned by an agency and marked done or not done
later, all audited; refusals leave nothing behind; the queue lists overdue actions; a repeat
referral shows the previous meeting's actions; the reports count actions by agency with small
counts hidden; an erased case takes all of it with it."""

from datetime import date, timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from agents.audit_models import AuditEvent
from chat.models import Conversation
from risk import outcome_figures, outcomes, referrals, reports, retention
from risk.models import Referral
from risk.outcome_models import MaracAction, MeetingOutcome
from risk.services import NotFound, RiskError
from tests.factories import signed_in
from tests.factories.risk import case_with_chat, directory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate
LOADED_ON = timezone.localdate()


def listed_referral(advisor: Any, supervisor: Any, *, kind: str = "marac", case: Any = None) -> Referral:
    """A referral of `kind` moved to listed (MARAC) or accepted (other kinds)."""
    case = case or case_with_chat(advisor, area="Cardiff")
    referral = referrals.referral_draft(user=advisor, case_id=case.pk, kind=kind)
    referrals.referral_transition(user=advisor, referral_id=referral.pk, to_state="submitted")
    referrals.referral_transition(user=supervisor, referral_id=referral.pk, to_state="under_review")
    referrals.referral_transition(user=supervisor, referral_id=referral.pk, to_state="accepted")
    if kind == "marac":
        referrals.referral_transition(
            user=supervisor, referral_id=referral.pk, to_state="listed", meeting_on=TODAY() - timedelta(days=20)
        )
    return Referral.objects.get(pk=referral.pk)


def two_actions(agencies: dict[str, Any], *, heard_on: date) -> list[outcomes.ActionInput]:
    return [
        outcomes.ActionInput(
            description="IDVA to contact the victim", due_on=heard_on + timedelta(days=7), agency_id=agencies["idva"].pk
        ),
        outcomes.ActionInput(
            description="Housing to review the tenancy", due_on=heard_on + timedelta(days=60), agency_name="Housing"
        ),
    ]


def act(**change: Any) -> outcomes.ActionInput:
    """A valid action (due on the day the tests were loaded), with `change`."""
    return outcomes.ActionInput(**{"description": "Call", "due_on": LOADED_ON, "agency_name": "GP", **change})


def refused(code: str, call: Any, **kwargs: Any) -> None:
    with pytest.raises(RiskError) as error:
        call(**kwargs)
    assert error.value.code == code, error.value.message


def test_a_supervisor_records_the_outcome_and_the_referral_is_heard(people: dict[str, Any]) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    cardiff = directory("Cardiff")
    referral = listed_referral(advisor, supervisor)
    heard_on = TODAY() - timedelta(days=14)

    outcome = outcomes.outcome_record(
        user=supervisor,
        referral_id=referral.pk,
        heard_on=heard_on,
        summary="Safety plan agreed; IDVA to lead",
        actions=two_actions(cardiff, heard_on=heard_on),
    )

    referral.refresh_from_db()
    assert referral.state == "heard" and referral.outcome == "Safety plan agreed; IDVA to lead"
    heard = referral.transitions.last()
    assert heard is not None and heard.reason == "Safety plan agreed; IDVA to lead"
    assert (outcome.case_id, outcome.heard_on, outcome.recorded_by_id) == (referral.case_id, heard_on, supervisor.pk)
    idva, housing = outcome.actions.order_by("due_on")
    assert (idva.agency, idva.agency_name, idva.status) == (cardiff["idva"], cardiff["idva"].name, "open")
    assert (housing.agency, housing.agency_name) == (None, "Housing")
    events = AuditEvent.objects.filter(referral_id=referral.pk)
    assert events.filter(action="outcome.record", detail__meeting_outcome=outcome.pk).exists()
    assert set(events.filter(action="outcome.action_add").values_list("detail__marac_action", flat=True)) == {
        idva.pk,
        housing.pk,
    }
    for event in events:
        assert "Safety plan" not in repr(event.detail) and "tenancy" not in repr(event.detail)

    # The first action is overdue (due a week after a meeting two weeks ago): the queue shows it.
    overdue = list(outcomes.overdue_actions(user=supervisor))
    assert overdue == [idva]
    page = signed_in(supervisor).get("/risk/referrals/")
    assert "IDVA to contact the victim" in page.content.decode() and "Housing to review" not in page.content.decode()
    with pytest.raises(NotFound):
        outcomes.overdue_actions(user=advisor)

    # Marked done: no longer overdue; not done, then open again.
    outcomes.action_status_set(user=supervisor, action_id=idva.pk, status="done")
    idva.refresh_from_db()
    assert (idva.status, idva.status_by_id) == ("done", supervisor.pk) and idva.status_at is not None
    assert list(outcomes.overdue_actions(user=supervisor)) == []
    outcomes.action_status_set(user=supervisor, action_id=housing.pk, status="not_done")
    outcomes.action_status_set(user=supervisor, action_id=housing.pk, status="open")
    housing.refresh_from_db()
    assert (housing.status, housing.status_at, housing.status_by_id) == ("open", None, None)
    statuses = AuditEvent.objects.filter(action="outcome.action_status").values_list("detail__status", flat=True)
    assert list(statuses) == ["done", "not_done", "open"]

    # Another action later, which the directory does not hold.
    added = outcomes.action_add(
        user=supervisor,
        referral_id=referral.pk,
        action=outcomes.ActionInput(description="GP to review", due_on=TODAY(), agency_name="GP surgery"),
    )
    assert added.outcome == outcome and outcome.actions.count() == 3


def test_an_outcome_can_follow_a_hearing_recorded_with_a_reason_only(people: dict[str, Any]) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    referral = listed_referral(advisor, supervisor)
    referrals.referral_transition(user=supervisor, referral_id=referral.pk, to_state="heard", reason="Heard today")
    outcomes.outcome_record(user=supervisor, referral_id=referral.pk, heard_on=TODAY(), summary="Plan", actions=[])
    assert Referral.objects.get(pk=referral.pk).state == "heard"
    assert referral.transitions.count() == 5  # no second hearing
    refused(
        "invalid_state",
        outcomes.outcome_record,
        user=supervisor,
        referral_id=referral.pk,
        heard_on=TODAY(),
        summary="Again",
        actions=[],
    )
    assert MeetingOutcome.objects.count() == 1


@pytest.mark.parametrize(
    ("code", "change"),
    [
        ("reason_required", {"summary": "   "}),
        ("invalid", {"summary": "x" * 4001}),
        ("invalid", {"heard_on": date.today() + timedelta(days=2)}),  # noqa: DTZ011
        ("invalid", {"actions": [act(description="")]}),
        ("invalid", {"actions": [act(due_on=None)]}),
        ("invalid", {"actions": [act(due_on=date(2020, 1, 1))]}),
        ("invalid", {"actions": [act(agency_name="")]}),
        ("invalid", {"actions": [act(agency_id=999999)]}),
        ("invalid", {"actions": [act(description="x" * 2001)]}),
        ("invalid", {"actions": [act(agency_name="G" * 151)]}),
    ],
)
def test_bad_outcomes_are_refused_and_save_nothing(people: dict[str, Any], code: str, change: dict[str, Any]) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    referral = listed_referral(advisor, supervisor)
    good = {
        "user": supervisor,
        "referral_id": referral.pk,
        "heard_on": TODAY() - timedelta(days=1),
        "summary": "Plan",
        "actions": [outcomes.ActionInput(description="A valid one first", due_on=TODAY(), agency_name="GP")],
    }
    refused(code, outcomes.outcome_record, **{**good, **change})
    assert Referral.objects.get(pk=referral.pk).state == "listed"
    assert not MeetingOutcome.objects.exists() and not MaracAction.objects.exists()


def test_who_and_when_an_outcome_may_be_recorded(people: dict[str, Any]) -> None:
    advisor, other, supervisor = people["advisor"], people["other"], people["supervisor"]
    cardiff = directory("Cardiff")
    referral = listed_referral(advisor, supervisor)
    args: dict[str, Any] = {"referral_id": referral.pk, "heard_on": TODAY(), "summary": "Plan", "actions": []}

    refused("forbidden", outcomes.outcome_record, user=advisor, **args)
    assert AuditEvent.objects.filter(
        action="referral.refused", actor=advisor, referral_id=referral.pk, detail__refusal="forbidden"
    ).exists()
    with pytest.raises(NotFound):
        outcomes.outcome_record(user=other, **args)
    with pytest.raises(NotFound):
        outcomes.outcome_record(user=supervisor, **{**args, "referral_id": "not-a-uuid"})

    # Not yet listed, and not a MARAC referral.
    draft = referrals.referral_draft(user=advisor, case_id=referral.case_id)
    refused("invalid_state", outcomes.outcome_record, user=supervisor, **{**args, "referral_id": draft.pk})
    idva = listed_referral(advisor, supervisor, kind="idva")
    refused("invalid", outcomes.outcome_record, user=supervisor, **{**args, "referral_id": idva.pk})
    # Actions need an outcome first; a disabled agency is no longer offered.
    action = outcomes.ActionInput(description="Call", due_on=TODAY(), agency_id=cardiff["police"].pk)
    refused("invalid_state", outcomes.action_add, user=supervisor, referral_id=referral.pk, action=action)
    assert not MeetingOutcome.objects.exists()

    outcomes.outcome_record(user=supervisor, **args)
    cardiff["police"].active = False
    cardiff["police"].save()
    refused("invalid", outcomes.action_add, user=supervisor, referral_id=referral.pk, action=action)
    refused(
        "forbidden",
        outcomes.action_add,
        user=advisor,
        referral_id=referral.pk,
        action=outcomes.ActionInput(description="Call", due_on=TODAY(), agency_name="GP"),
    )
    added = outcomes.action_add(
        user=supervisor,
        referral_id=referral.pk,
        action=outcomes.ActionInput(description="Call", due_on=TODAY(), agency_name="GP"),
    )
    refused("forbidden", outcomes.action_status_set, user=advisor, action_id=added.pk, status="done")
    refused("invalid", outcomes.action_status_set, user=supervisor, action_id=added.pk, status="finished")
    with pytest.raises(NotFound):
        outcomes.action_status_set(user=supervisor, action_id=added.pk + 1000, status="done")
    with pytest.raises(NotFound):
        outcomes.action_status_set(user=other, action_id=added.pk, status="done")
    with pytest.raises(NotFound):
        outcomes.action_status_set(user=supervisor, action_id="1; drop", status="done")
    assert MaracAction.objects.get().status == "open"


def test_the_referral_page_records_an_outcome_and_refuses_bad_input(people: dict[str, Any]) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    cardiff = directory("Cardiff")
    referral = listed_referral(advisor, supervisor)
    url = f"/risk/referrals/{referral.pk}/"
    client = signed_in(supervisor)
    page = client.get(url).content.decode()
    assert "Record the outcome" in page and cardiff["idva"].name in page

    heard = (TODAY() - timedelta(days=3)).isoformat()
    due = (TODAY() + timedelta(days=10)).isoformat()
    form = {
        "action": "outcome_record",
        "heard_on": heard,
        "summary": "Plan agreed",
        "action-1-description": "IDVA to call",
        "action-1-agency": str(cardiff["idva"].pk),
        "action-1-due_on": due,
        "action-2-description": "Refuge place",
        "action-2-agency_name": "Women's Aid",
        "action-2-due_on": due,
    }
    for bad in (
        {"heard_on": "03/12/2026"},
        {"heard_on": ""},
        {"action-2-due_on": "soon"},
        {"action-1-agency": "idva"},
        {"action-3-description": "Half an action"},
    ):
        response = client.post(url, {**form, **bad})
        assert response.status_code == 400 and 'role="alert"' in response.content.decode()
    assert not MeetingOutcome.objects.exists()
    assert Referral.objects.get(pk=referral.pk).state == "listed"

    assert client.post(url, form).status_code == 302
    outcome = MeetingOutcome.objects.get()
    assert sorted(outcome.actions.values_list("agency_name", flat=True)) == [cardiff["idva"].name, "Women's Aid"]
    page = client.get(url).content.decode()
    assert "Plan agreed" in page and "Mark done" in page and "Add the action" in page
    refuge = outcome.actions.get(agency_name="Women's Aid")
    response = client.post(url, {"action": "action_status", "action_id": refuge.pk, "status": "done"})
    assert response.status_code == 302 and MaracAction.objects.get(pk=refuge.pk).status == "done"
    response = client.post(url, {"action": "action_add", "new-description": "Police marker", "new-due_on": due})
    assert response.status_code == 400  # no agency
    added = {"action": "action_add", "new-description": "Police marker", "new-due_on": due, "new-agency_name": "Police"}
    response = client.post(url, added)
    assert response.status_code == 302 and outcome.actions.count() == 3

    # The advisor who referred sees the outcome, without the supervisor's forms, and cannot post them.
    advisor_client = signed_in(advisor)
    page = advisor_client.get(url).content.decode()
    assert "Plan agreed" in page and "Mark done" not in page and "Add the action" not in page
    response = advisor_client.post(url, {"action": "action_status", "action_id": refuge.pk, "status": "open"})
    assert response.status_code == 400 and MaracAction.objects.get(pk=refuge.pk).status == "done"


def test_a_repeat_referral_shows_the_previous_meetings_actions(people: dict[str, Any]) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    first = listed_referral(advisor, supervisor)
    outcomes.outcome_record(
        user=supervisor,
        referral_id=first.pk,
        heard_on=TODAY() - timedelta(days=10),
        summary="Plan",
        actions=[outcomes.ActionInput(description="Target hardening", due_on=TODAY(), agency_name="Police")],
    )
    second = referrals.referral_draft(user=advisor, case_id=first.case_id)
    assert second.form["safety"]["earlier_maracs"].startswith(f"{first.reference} heard ")
    assert "Police: Target hardening (open)" in second.form["safety"]["earlier_maracs"]
    referrals.referral_transition(user=advisor, referral_id=second.pk, to_state="submitted")
    assert Referral.objects.get(pk=second.pk).repeat_of_id == first.pk
    page = signed_in(advisor).get(f"/risk/referrals/{second.pk}/").content.decode()
    assert "Previous meeting's actions" in page and "Target hardening" in page
    # The first referral itself has no previous meeting.
    assert "Previous meeting" not in signed_in(advisor).get(f"/risk/referrals/{first.pk}/").content.decode()


@override_settings(FIGURES_SMALL_COUNT=3)
def test_reports_count_actions_by_agency_and_hide_small_counts(people: dict[str, Any]) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    heard_on = TODAY() - timedelta(days=5)
    referral = listed_referral(advisor, supervisor)
    actions = [
        outcomes.ActionInput(description=f"Police {n}", due_on=TODAY() + timedelta(days=n), agency_name="Police")
        for n in range(7)
    ] + [outcomes.ActionInput(description="IDVA", due_on=TODAY(), agency_name="IDVA service")]
    outcome = outcomes.outcome_record(
        user=supervisor, referral_id=referral.pk, heard_on=heard_on, summary="Plan", actions=actions
    )
    police = list(outcome.actions.filter(agency_name="Police").order_by("due_on"))
    for action in police[:4]:
        outcomes.action_status_set(user=supervisor, action_id=action.pk, status="done")
    outcomes.action_status_set(user=supervisor, action_id=police[4].pk, status="not_done")
    # Police: 7 agreed, 4 done, 1 not done (small), 2 open (small): both small ones hidden.
    figures = outcome_figures.action_figures(heard_on, TODAY(), today=TODAY())
    lines = {line.agency: [cell.text() for cell in line.cells] for line in figures.lines}
    assert lines == {
        "IDVA service": ["fewer than 3", "0", "0", "fewer than 3", "0"],
        "Police": ["7", "4", "fewer than 3", "fewer than 3", "0"],
    }
    # 3 done, 1 not done, 3 open: the 1 alone could be worked out, so the first 3 is hidden too.
    outcomes.action_status_set(user=supervisor, action_id=police[0].pk, status="open")
    lines = {
        line.agency: [cell.text() for cell in line.cells]
        for line in outcome_figures.action_figures(heard_on, TODAY(), today=TODAY()).lines
    }
    assert lines["Police"] == ["7", "not shown", "fewer than 3", "3", "0"]
    # Meetings outside the period are not counted; the page and the CSV carry the table.
    before = outcome_figures.action_figures(heard_on - timedelta(days=9), heard_on - timedelta(days=1), today=TODAY())
    assert before.lines == []
    report = reports.build(heard_on, TODAY())
    assert ["marac_actions", "Police: Agreed", "7"] in reports.csv_rows(report)
    page = signed_in(supervisor).get("/console/reports/", {"start": heard_on.isoformat(), "end": TODAY().isoformat()})
    assert "MARAC actions by agency" in page.content.decode()


def test_an_erased_case_takes_its_outcome_and_actions(people: dict[str, Any]) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    referral = listed_referral(advisor, supervisor)
    outcomes.outcome_record(
        user=supervisor,
        referral_id=referral.pk,
        heard_on=TODAY(),
        summary="Plan",
        actions=[outcomes.ActionInput(description="Call", due_on=TODAY(), agency_name="GP")],
    )
    case = referral.case
    Conversation.objects.filter(case_links__case=case).update(state="closed", closed_at=timezone.now())
    retention.case_erase(user=supervisor, case_id=case.pk, reason="The person asked", confirm_reference=case.reference)
    assert not MeetingOutcome.objects.exists() and not MaracAction.objects.exists()


def test_marking_an_action_is_activity_on_the_case(people: dict[str, Any]) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    referral = listed_referral(advisor, supervisor)
    outcome = outcomes.outcome_record(
        user=supervisor, referral_id=referral.pk, heard_on=TODAY(), summary="Plan", actions=[act()]
    )
    action = outcome.actions.get()
    long_ago = timezone.now() - timedelta(days=400)
    MaracAction.objects.filter(pk=action.pk).update(created_at=long_ago)
    Referral.objects.filter(pk=referral.pk).update(created_at=long_ago)
    referral.transitions.update(at=long_ago)
    referral.case.conversation_links.update(linked_at=long_ago)
    Conversation.objects.filter(case_links__case=referral.case).update(created_at=long_ago)
    type(referral.case).objects.filter(pk=referral.case_id).update(created_at=long_ago)
    before = retention.case_retention(case=referral.case).last_activity
    assert abs((before - long_ago).total_seconds()) < 1

    outcomes.action_status_set(user=supervisor, action_id=action.pk, status="done")
    after = retention.case_retention(case=referral.case).last_activity
    assert abs((after - timezone.now()).total_seconds()) < 60
