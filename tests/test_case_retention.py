"""Case retention: the review date, the supervisors' review list, legal hold, erasure on request
and by the schedule. An erased case takes everything with it but the register entry, the audit
trail's content-free events and the anonymous statistics."""

import threading
from datetime import datetime, timedelta
from io import StringIO
from typing import Any
from uuid import uuid4

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from agents.models import ContactStatistic
from chat.models import Assignment, Conversation, Message, Visitor
from chat.retention import retention_purge
from chat.services.handoff import conversation_end_staff
from chat.services.kernel import staff_actor
from risk import referrals, retention, services, snapshots
from risk.checklist import CURRENT
from risk.models import (
    Assessment,
    AuditEvent,
    CaseConversation,
    CaseErasure,
    CaseNote,
    CaseRecord,
    CaseRetention,
    Incident,
    Referral,
    ReferralTransition,
    SafeguardingDecision,
    TranscriptSnapshot,
)
from risk.tasks import case_retention_review
from tests import factories
from tests.factories import chat_with, closed_chat, signed_in

pytestmark = pytest.mark.django_db

SECRETS = ("kill me", "key to the flat", "Police called", "sister in Leeds", "believed it", "Threats to the baby")
REASON = "Data subject request received by post, logged as DSR-12"


def end_chat(advisor: Any, conversation: Conversation) -> None:
    conversation_end_staff(
        actor=staff_actor(user_id=advisor.pk), conversation_id=conversation.pk, outcome="emotional_support"
    )


def full_case(advisor: Any) -> tuple[CaseRecord, Conversation]:
    """A case with everything a case can hold, its chat closed."""
    conversation = chat_with(advisor)
    case = services.case_open(user=advisor, conversation_id=conversation.pk, area="Cardiff")
    services.case_note_add(user=advisor, case_id=case.pk, text="He has a key to the flat")
    services.incident_add(user=advisor, case_id=case.pk, occurred_on=timezone.localdate(), note="Police called")
    assessment = services.assessment_start(user=advisor, case_id=case.pk, conversation_id=conversation.pk)
    answers = {item.key: {"value": "yes"} for item in CURRENT.core[:14]}
    answers["c14"] = {"value": "yes", "source": "police", "comment": "believed it"}
    services.assessment_answer(user=advisor, assessment_id=assessment.pk, answers=answers)
    services.safeguarding_decision_record(
        user=advisor, case_id=case.pk, needed=True, decided_on=timezone.localdate(), reason="Threats to the baby"
    )
    snapshots.snapshot_make(user=advisor, case_id=case.pk, conversation_id=conversation.pk)
    referral = referrals.referral_draft(user=advisor, case_id=case.pk, assessment_id=assessment.pk)
    referrals.referral_transition(user=advisor, referral_id=referral.pk, to_state="submitted")
    referrals.referral_transition(
        user=advisor, referral_id=referral.pk, to_state="withdrawn", reason="She moved to her sister in Leeds"
    )
    end_chat(advisor, conversation)
    return case, conversation


def age(case: CaseRecord, days: float) -> None:
    """Move every timestamp of a case (and its chats) `days` into the past."""
    shift = timedelta(days=days)
    CaseRecord.objects.filter(pk=case.pk).update(created_at=case.created_at - shift)
    for model, field, flt in (
        (CaseNote, "created_at", {"case": case}),
        (Incident, "recorded_at", {"case": case}),
        (Assessment, "updated_at", {"case": case}),
        (Assessment, "created_at", {"case": case}),
        (SafeguardingDecision, "recorded_at", {"case": case}),
        (TranscriptSnapshot, "created_at", {"case": case}),
        (Referral, "created_at", {"case": case}),
        (ReferralTransition, "at", {"referral__case": case}),
        (CaseConversation, "linked_at", {"case": case}),
        (Conversation, "created_at", {"case_links__case": case}),
        (Conversation, "closed_at", {"case_links__case": case}),
    ):
        for pk, value in model.objects.filter(**flt).values_list("pk", field):
            if value is not None:
                model.objects.filter(pk=pk).update(**{field: value - shift})


def refused(code: str, call: Any, **kwargs: Any) -> None:
    with pytest.raises(services.RiskError) as error:
        call(**kwargs)
    assert error.value.code == code, error.value.message


def test_erasure_takes_the_whole_case_and_leaves_tombstones(people: dict[str, Any]) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    case, conversation = full_case(advisor)
    snapshot = TranscriptSnapshot.objects.get(case=case)
    visitor_id = conversation.visitor_id
    client = signed_in(supervisor)
    assert client.get(f"/risk/snapshots/{snapshot.pk}.json").status_code == 200
    events_before = AuditEvent.objects.filter(case_id=case.pk).count()

    erasure = retention.case_erase(
        user=supervisor, case_id=case.pk, reason=REASON, confirm_reference=case.reference.lower()
    )

    assert erasure.basis == CaseErasure.Basis.REQUEST and erasure.erased_by_id == supervisor.pk
    assert erasure.counts == {
        "conversations": 1,
        "notes": 1,
        "incidents": 1,
        "assessments": 1,
        "safeguarding_decisions": 1,
        "snapshots": 1,
        "referrals": 1,
    }
    assert not CaseRecord.objects.filter(pk=case.pk).exists()
    for model, flt in (
        (CaseNote, {"case_id": case.pk}),
        (Incident, {"case_id": case.pk}),
        (Assessment, {"case_id": case.pk}),
        (SafeguardingDecision, {"case_id": case.pk}),
        (TranscriptSnapshot, {"case_id": case.pk}),
        (Referral, {"case_id": case.pk}),
        (ReferralTransition, {"referral__case_id": case.pk}),
        (CaseConversation, {"case_id": case.pk}),
        (CaseRetention, {"case_id": case.pk}),
        (Conversation, {"pk": conversation.pk}),
        (Message, {"conversation_id": conversation.pk}),
        (Assignment, {"conversation_id": conversation.pk}),
        (Visitor, {"pk": visitor_id}),
    ):
        assert not model.objects.filter(**flt).exists(), model
    # The exports are made from the snapshot: they are gone with it.
    assert client.get(f"/risk/snapshots/{snapshot.pk}.json").status_code == 404
    assert client.get(f"/risk/snapshots/{snapshot.pk}.pdf").status_code == 404
    # Tombstones: every event is still there, plus the erasure, and none says what was said.
    events = AuditEvent.objects.filter(case_id=case.pk)
    assert events.count() == events_before + 2  # the gate's "case.retention" access and the erasure
    assert events.filter(action="case.erase_request").exists()
    for event in events:
        assert not any(secret in repr(event.detail) for secret in SECRETS)
    # The chain of the audit trail is unbroken by the erasure.
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert out.getvalue().startswith("OK")
    # The chat is still counted, anonymously.
    statistic = ContactStatistic.objects.get(conversation__isnull=True)
    assert statistic.outcome == "emotional_support" and statistic.contact_at.minute == 0


def test_legal_hold_stops_erasure_until_released(people: dict[str, Any]) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    case, _ = full_case(advisor)
    retention.case_hold_set(user=supervisor, case_id=case.pk, reason="Police investigation, request ref 44/2026")
    refused("invalid_state", retention.case_hold_set, user=supervisor, case_id=case.pk, reason="again")
    refused(
        "on_hold",
        retention.case_erase,
        user=supervisor,
        case_id=case.pk,
        reason=REASON,
        confirm_reference=case.reference,
    )
    assert CaseRecord.objects.filter(pk=case.pk).exists()
    assert AuditEvent.objects.filter(case_id=case.pk, action="case.hold").exists()

    retention.case_hold_release(user=supervisor, case_id=case.pk, reason="Investigation closed")
    refused("invalid_state", retention.case_hold_release, user=supervisor, case_id=case.pk, reason="again")
    retention.case_erase(user=supervisor, case_id=case.pk, reason=REASON, confirm_reference=case.reference)
    assert not CaseRecord.objects.filter(pk=case.pk).exists()


def test_erasing_twice_says_it_is_already_erased(people: dict[str, Any]) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    case, _ = full_case(advisor)
    retention.case_erase(user=supervisor, case_id=case.pk, reason=REASON, confirm_reference=case.reference)
    refused(
        "already_erased",
        retention.case_erase,
        user=supervisor,
        case_id=case.pk,
        reason=REASON,
        confirm_reference=case.reference,
    )
    refused("already_erased", retention.case_hold_set, user=supervisor, case_id=case.pk, reason="hold")
    assert CaseErasure.objects.filter(case_id=case.pk).count() == 1
    # An advisor learns nothing, not even that it existed.
    with pytest.raises(services.NotFound):
        retention.case_erase(user=advisor, case_id=case.pk, reason=REASON, confirm_reference=case.reference)


def test_advisors_cannot_erase_hold_keep_or_list(people: dict[str, Any]) -> None:
    advisor, other = people["advisor"], people["other"]
    case, _ = full_case(advisor)
    later = timezone.now() + timedelta(days=30)
    # The owner reaches the case but is refused, and told why.
    refused(
        "forbidden",
        retention.case_erase,
        user=advisor,
        case_id=case.pk,
        reason=REASON,
        confirm_reference=case.reference,
    )
    refused("forbidden", retention.case_hold_set, user=advisor, case_id=case.pk, reason="hold")
    refused("forbidden", retention.case_keep, user=advisor, case_id=case.pk, until=later, reason="keep")
    refused("forbidden", retention.cases_due, user=advisor)
    refused("forbidden", retention.case_erasures, user=advisor)
    # Another advisor does not even learn that the case exists.
    with pytest.raises(services.NotFound):
        retention.case_erase(user=other, case_id=case.pk, reason=REASON, confirm_reference=case.reference)
    assert CaseRecord.objects.filter(pk=case.pk).exists()
    assert AuditEvent.objects.filter(actor=advisor, action="case.refused", case_id=case.pk).count() == 3
    for client, status in ((signed_in(advisor), 403), (signed_in(other), 403)):
        assert client.get("/risk/retention/").status_code == status
        response = client.post(
            f"/risk/cases/{case.pk}/retention/",
            {"action": "erase", "reason": REASON, "confirm_reference": case.reference},
        )
        assert response.status_code == status
    assert CaseRecord.objects.filter(pk=case.pk).exists()


@pytest.mark.parametrize(
    ("reason", "confirm", "code"),
    [
        ("", "{ref}", "reason_required"),
        ("   ", "{ref}", "reason_required"),
        (None, "{ref}", "reason_required"),
        ("x" * 1001, "{ref}", "invalid"),
        (REASON, "", "confirm"),
        (REASON, "C-WRONGREF", "confirm"),
        (REASON, None, "confirm"),
    ],
)
def test_bad_erasure_input_is_refused_and_loses_nothing(
    people: dict[str, Any], reason: Any, confirm: Any, code: str
) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    case, _ = full_case(advisor)
    confirm = confirm.format(ref=case.reference) if isinstance(confirm, str) else confirm
    refused(code, retention.case_erase, user=supervisor, case_id=case.pk, reason=reason, confirm_reference=confirm)
    assert CaseRecord.objects.filter(pk=case.pk).exists() and not CaseErasure.objects.exists()


def test_the_basis_of_an_erasure_is_checked(people: dict[str, Any], settings: Any) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    settings.RISK = {**settings.RISK, "CASE_RETENTION_DAYS": 100}
    case, _ = full_case(advisor)
    ref = case.reference
    for basis in ("", "schedule", "because", None):
        refused(
            "invalid",
            retention.case_erase,
            user=supervisor,
            case_id=case.pk,
            reason=REASON,
            confirm_reference=ref,
            basis=basis,
        )
    refused(
        "not_due",
        retention.case_erase,
        user=supervisor,
        case_id=case.pk,
        reason=REASON,
        confirm_reference=ref,
        basis="review",
    )
    age(case, 120)
    erasure = retention.case_erase(
        user=supervisor, case_id=case.pk, reason="Reviewed: no further contact", confirm_reference=ref, basis="review"
    )
    assert erasure.basis == CaseErasure.Basis.REVIEW


def test_unknown_or_malformed_case_ids_are_not_found(people: dict[str, Any]) -> None:
    supervisor = people["supervisor"]
    for case_id in (uuid4(), "not-a-uuid", "", "'; DROP TABLE risk_caserecord; --"):
        with pytest.raises(services.NotFound):
            retention.case_erase(user=supervisor, case_id=case_id, reason=REASON, confirm_reference="C-X")


def test_a_case_with_an_open_chat_is_not_erased(people: dict[str, Any]) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    conversation = chat_with(advisor)
    case = services.case_open(user=advisor, conversation_id=conversation.pk)
    refused(
        "chat_open",
        retention.case_erase,
        user=supervisor,
        case_id=case.pk,
        reason=REASON,
        confirm_reference=case.reference,
    )
    assert Message.objects.filter(conversation=conversation).exists()
    end_chat(advisor, conversation)
    retention.case_erase(user=supervisor, case_id=case.pk, reason=REASON, confirm_reference=case.reference)
    assert not Conversation.objects.filter(pk=conversation.pk).exists()


def test_a_chat_attached_to_another_case_stays_with_it(people: dict[str, Any]) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    first, conversation = full_case(advisor)
    other_chat = chat_with(advisor)
    second = services.case_open(user=advisor, conversation_id=other_chat.pk)
    end_chat(advisor, other_chat)
    services.case_attach(user=supervisor, reference=second.reference, conversation_id=conversation.pk)
    retention.case_erase(user=supervisor, case_id=first.pk, reason=REASON, confirm_reference=first.reference)
    assert Conversation.objects.filter(pk=conversation.pk).exists()
    assert Message.objects.filter(conversation=conversation).exists()
    assert CaseConversation.objects.filter(case=second, conversation=conversation).exists()
    assert CaseErasure.objects.get(case_id=first.pk).counts["conversations"] == 0


def test_review_date_follows_the_last_activity(people: dict[str, Any], settings: Any) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    settings.RISK = {**settings.RISK, "CASE_RETENTION_DAYS": 100}
    case, _ = full_case(advisor)
    fresh, _ = full_case(advisor)
    age(case, 120)
    state = retention.case_retention(case=case)
    assert state.due and not state.hold
    assert abs((state.review_at - (state.last_activity + timedelta(days=100))).total_seconds()) < 1
    assert [c.pk for c, _ in retention.cases_due(user=supervisor)] == [case.pk]
    assert not retention.case_retention(case=fresh).due

    # Reading the case is not activity; a note is.
    services.case_for_user(user=supervisor, case_id=case.pk)
    assert retention.case_retention(case=case).due
    services.case_note_add(user=advisor, case_id=case.pk, text="Called back")
    assert not retention.case_retention(case=case).due
    assert retention.cases_due(user=supervisor) == []
    # So is a safeguarding decision.
    age(case, 120)
    assert retention.case_retention(case=case).due
    services.safeguarding_decision_record(user=advisor, case_id=case.pk, needed=False, decided_on=timezone.localdate())
    assert not retention.case_retention(case=case).due


def test_keeping_a_case_at_review(people: dict[str, Any], settings: Any) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    settings.RISK = {**settings.RISK, "CASE_RETENTION_DAYS": 100}
    case, _ = full_case(advisor)
    age(case, 120)
    now = timezone.now()
    refused("invalid", retention.case_keep, user=supervisor, case_id=case.pk, until=now - timedelta(days=1), reason="r")
    refused(
        "invalid", retention.case_keep, user=supervisor, case_id=case.pk, until=now + timedelta(days=102), reason="r"
    )
    refused("invalid", retention.case_keep, user=supervisor, case_id=case.pk, until=datetime(2099, 1, 1), reason="r")  # noqa: DTZ001
    refused("invalid", retention.case_keep, user=supervisor, case_id=case.pk, until="2099-01-01", reason="r")
    refused(
        "reason_required",
        retention.case_keep,
        user=supervisor,
        case_id=case.pk,
        until=now + timedelta(days=10),
        reason="",
    )
    retention.case_keep(user=supervisor, case_id=case.pk, until=now + timedelta(days=10), reason="Family court hearing")
    state = retention.case_retention(case=case)
    assert not state.due and state.keep_reason == "Family court hearing"
    assert retention.case_retention(case=case, now=now + timedelta(days=11)).due
    assert AuditEvent.objects.filter(case_id=case.pk, action="case.keep").exists()


def test_scheduled_review_flags_and_erases_only_when_opted_in(people: dict[str, Any], settings: Any) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    settings.RISK = {**settings.RISK, "CASE_RETENTION_DAYS": 100, "CASE_ERASE_GRACE_DAYS": 30, "CASE_AUTO_ERASE": False}
    long_past, _ = full_case(advisor)
    just_due, _ = full_case(advisor)
    held, _ = full_case(advisor)
    kept, _ = full_case(advisor)
    recent, _ = full_case(advisor)
    for case in (long_past, held, kept):
        age(case, 140)
    age(just_due, 110)
    retention.case_hold_set(user=supervisor, case_id=held.pk, reason="Court order")
    retention.case_keep(user=supervisor, case_id=kept.pk, until=timezone.now() + timedelta(days=5), reason="Review")

    assert case_retention_review() == {"due": 2, "flagged": 2, "erased": 0}
    assert case_retention_review() == {"due": 2, "flagged": 0, "erased": 0}  # flagged once
    assert CaseRetention.objects.filter(case=long_past, due_since__isnull=False).exists()
    assert CaseRecord.objects.count() == 5

    settings.RISK = {**settings.RISK, "CASE_AUTO_ERASE": True}
    assert case_retention_review() == {"due": 2, "flagged": 0, "erased": 1}
    assert case_retention_review() == {"due": 1, "flagged": 0, "erased": 0}  # idempotent
    assert not CaseRecord.objects.filter(pk=long_past.pk).exists()
    assert set(CaseRecord.objects.values_list("pk", flat=True)) == {just_due.pk, held.pk, kept.pk, recent.pk}
    erasure = CaseErasure.objects.get(case_id=long_past.pk)
    assert erasure.basis == CaseErasure.Basis.SCHEDULE and erasure.erased_by is None


def test_the_review_pages(people: dict[str, Any], settings: Any) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    settings.RISK = {**settings.RISK, "CASE_RETENTION_DAYS": 100}
    case, _ = full_case(advisor)
    age(case, 120)
    client = signed_in(supervisor)
    page = client.get("/risk/retention/").content.decode()
    assert case.reference in page and "Due for review" in page
    url = f"/risk/cases/{case.pk}/retention/"
    shown = client.get(url).content.decode()
    assert "Type the reference" in shown and "1 safeguarding decision" in shown

    # Bad input: a clear error on the page, nothing lost.
    for data, message in (
        ({"action": "erase", "reason": REASON, "confirm_reference": "nope"}, "to confirm the erasure"),
        ({"action": "erase", "reason": REASON, "confirm_reference": case.reference, "basis": "x"}, "Say whether"),
        ({"action": "erase", "reason": "", "confirm_reference": case.reference}, "Say why"),
        ({"action": "keep", "until": "31/12/2099", "reason": "x"}, "YYYY-MM-DD"),
        ({"action": "keep", "until": "2000-01-01", "reason": "x"}, "in the future"),
        ({"action": "explode"}, "Choose keep, hold, release or erase"),
    ):
        response = client.post(url, data)
        assert response.status_code == 400 and message in response.content.decode(), data
    assert CaseRecord.objects.filter(pk=case.pk).exists()
    assert client.post("/risk/cases/not-a-uuid/retention/", {"action": "hold"}).status_code == 404
    assert client.post(f"/risk/cases/{uuid4()}/retention/", {"action": "hold", "reason": "x"}).status_code == 404

    response = client.post(url, {"action": "hold", "reason": "Police request"})
    assert response.status_code == 302
    page = client.get("/risk/retention/").content.decode()
    assert "Police request" in page.split('id="held-heading"')[1]
    client.post(url, {"action": "release", "reason": "Done"})
    response = client.post(url, {"action": "erase", "reason": REASON, "confirm_reference": case.reference})
    assert response.status_code == 302 and f"erased={case.reference}" in response["Location"]
    page = client.get(response["Location"]).content.decode()
    assert f"Case {case.reference} was erased" in page and REASON in page
    # Its pages are gone; the retention page says where it went.
    assert client.get(f"/risk/cases/{case.pk}/").status_code == 404
    assert client.get(url).status_code == 302
    found = client.get("/risk/retention/", {"reference": case.reference})
    assert found.status_code == 404 and "was erased on" in found.content.decode()
    assert client.get("/risk/retention/", {"reference": "C-NOSUCH00"}).status_code == 404


def test_review_list_reading_is_audited(people: dict[str, Any]) -> None:
    supervisor = people["supervisor"]
    retention.cases_due(user=supervisor)
    assert AuditEvent.objects.filter(actor=supervisor, action="case.retention_list").exists()


def test_reports_show_the_same_figures_after_an_erasure(people: dict[str, Any]) -> None:
    from chat import reports

    advisor, supervisor = people["advisor"], people["supervisor"]
    case, _ = full_case(advisor)
    # A second referral, submitted and not withdrawn, so the criteria figures have something.
    referral = referrals.referral_draft(user=advisor, case_id=case.pk)
    referrals.referral_transition(user=advisor, referral_id=referral.pk, to_state="submitted")
    kept, _ = full_case(advisor)
    today = timezone.localdate()
    from chat.retention import statistics_roll_up

    statistics_roll_up()
    before = reports.build(today - timedelta(days=2), today)
    assert dict(next(s for s in before["series"] if s.key == "risk").rows) == {"High": 2}
    assert dict(next(s for s in before["series"] if s.key == "marac").rows) == {"Visible high risk": 1}

    retention.case_erase(user=supervisor, case_id=case.pk, reason=REASON, confirm_reference=case.reference)

    after = reports.build(today - timedelta(days=2), today)
    assert [s.rows for s in before["series"]] == [s.rows for s in after["series"]]
    assert (before["contacts"], before["answered"], before["referrals"]) == (
        after["contacts"],
        after["answered"],
        after["referrals"],
    )
    assert CaseRecord.objects.filter(pk=kept.pk).exists()


# --- Concurrency (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_supervisors_erasing_at_once_erase_once(people: dict[str, Any]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent erasures need the scaled profile's PostgreSQL")
    advisor, supervisor = people["advisor"], people["supervisor"]
    second = factories.staff(role="supervisor")
    case, conversation = full_case(advisor)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def erase(user: Any) -> None:
        try:
            start.wait()
            retention.case_erase(user=user, case_id=case.pk, reason=REASON, confirm_reference=case.reference)
            outcomes.append("erased")
        except services.RiskError as refused:
            outcomes.append(refused.code)
        except BaseException as failed:
            outcomes.append(repr(failed))
        finally:
            connection.close()

    threads = [threading.Thread(target=erase, args=(user,)) for user in (supervisor, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already_erased", "erased"], outcomes
    assert CaseErasure.objects.filter(case_id=case.pk).count() == 1
    assert not Conversation.objects.filter(pk=conversation.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_the_purge_running_twice_at_once_erases_each_chat_once() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent purges need the scaled profile's PostgreSQL")
    factories.queues()
    advisor = factories.staff()
    factories.StaffProfile.objects.filter(user=advisor).update(availability="on_shift", capacity=10)
    chats = [closed_chat(advisor, f"words {n}", days_ago=8) for n in range(6)]
    start = threading.Barrier(2)
    counts: list[Any] = []

    def purge() -> None:
        try:
            start.wait()
            counts.append(retention_purge())
        except BaseException as failed:
            counts.append(repr(failed))
        finally:
            connection.close()

    threads = [threading.Thread(target=purge) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(count, int) for count in counts), counts
    assert sum(counts) == len(chats)
    assert not Conversation.objects.filter(pk__in=[c.pk for c in chats]).exists()
    assert ContactStatistic.objects.filter(conversation__isnull=True).count() == len(chats)
