"""Cases, assessments, sealed snapshots and exports, referrals and the audit trail."""

import json
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, transaction
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from agents.audit_models import AuditEvent
from agents.canonical import seal
from config.celery import app as celery_app
from risk import referrals, services, snapshots
from risk.checklist import CURRENT
from risk.models import ImmutableError, Referral, TranscriptSnapshot
from tests import factories
from tests.factories import chat_with
from tests.support.ws import verified_session_cookie

pytestmark = pytest.mark.django_db


def test_checklist_to_referral_to_acceptance_with_audit(people: dict[str, Any]) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    conversation = chat_with(advisor)
    case = services.case_open(user=advisor, conversation_id=conversation.pk, area="Cardiff")
    assessment = services.assessment_start(user=advisor, case_id=case.pk, conversation_id=conversation.pk)
    answers = {item.key: {"value": "yes"} for item in CURRENT.core[:13]}
    _, result = services.assessment_answer(user=advisor, assessment_id=assessment.pk, answers=answers)
    assert (result.score, result.level, result.criteria) == (13, "medium", [])
    with pytest.raises(services.RiskError) as refused:
        services.assessment_answer(user=advisor, assessment_id=assessment.pk, judgement_high=True)
    assert refused.value.code == "reason_required"
    _, result = services.assessment_answer(
        user=advisor,
        assessment_id=assessment.pk,
        answers={"c14": {"value": "yes", "source": "police", "comment": "believed it"}},
    )
    assert result.score == 14 and result.level == "high" and result.referral_due
    assert [c["key"] for c in result.criteria] == ["visible_high_risk"]

    referral = referrals.referral_draft(user=advisor, case_id=case.pk, assessment_id=assessment.pk, excerpt_seqs=[4])
    assert referral.form["criteria"]["visible_high_risk"] == {"met": True, "score": 14}
    assert referral.form["victim"]["surname"] is None  # not known until the visitor says
    assert referral.form["risk_summary"]["excerpts"][0]["text"].startswith("He said he would kill me")
    with pytest.raises(services.RiskError):
        referrals.referral_update(user=advisor, referral_id=referral.pk, form={"victim": {"shoe_size": 5}})
    referrals.referral_update(user=advisor, referral_id=referral.pk, form={"victim": {"forenames": "A."}}, urgent=True)
    referrals.referral_transition(user=advisor, referral_id=referral.pk, to_state="submitted")
    referral.refresh_from_db()
    assert referral.due_at is not None and referral.submitted_at is not None
    assert referral.due_at > referral.submitted_at
    with pytest.raises(services.RiskError) as refused:
        referrals.referral_transition(user=advisor, referral_id=referral.pk, to_state="under_review")
    assert refused.value.code == "forbidden"
    referrals.referral_transition(user=supervisor, referral_id=referral.pk, to_state="under_review")
    referrals.referral_transition(
        user=supervisor, referral_id=referral.pk, to_state="accepted", reason="Meets criteria"
    )
    referral.refresh_from_db()
    assert referral.state == "accepted"
    assert [(t.from_state, t.to_state, t.by_id) for t in referral.transitions.all()] == [
        ("draft", "submitted", advisor.pk),
        ("submitted", "under_review", supervisor.pk),
        ("under_review", "accepted", supervisor.pk),
    ]
    actions = list(AuditEvent.objects.filter(case_id=case.pk).values_list("action", flat=True))
    for expected in (
        "case.create",
        "assessment.answer",
        "referral.draft",
        "referral.submitted",
        "referral.under_review",
        "referral.accepted",
    ):
        assert expected in actions


def test_the_gate_keeps_advisors_to_their_own_cases(people: dict[str, Any]) -> None:
    advisor, other, supervisor = people["advisor"], people["other"], people["supervisor"]
    case = factories.case_with_chat(advisor)
    assessment = services.assessment_start(user=advisor, case_id=case.pk)
    referral = referrals.referral_draft(user=advisor, case_id=case.pk)
    snapshot = snapshots.snapshot_make(
        user=advisor, case_id=case.pk, conversation_id=case.conversation_links.get().conversation_id
    )
    for attempt in (
        lambda: services.case_for_user(user=other, case_id=case.pk),
        lambda: services.assessment_answer(user=other, assessment_id=assessment.pk, answers={"c01": {"value": "yes"}}),
        lambda: referrals.referral_for_user(user=other, referral_id=referral.pk),
        lambda: snapshots.snapshot_for_user(user=other, snapshot_id=snapshot.pk, action="export"),
        lambda: services.case_attach(user=other, reference=case.reference, conversation_id=chat_with(other).pk),
        lambda: referrals.referral_queue(user=other),
        lambda: services.incident_add(user=other, case_id=case.pk, occurred_on=timezone.localdate()),
    ):
        with pytest.raises(services.NotFound):
            attempt()
    assert services.case_for_user(user=supervisor, case_id=case.pk) == case
    services.case_share(user=advisor, case_id=case.pk, with_user_id=other.pk)
    assert services.case_for_user(user=other, case_id=case.pk) == case


def test_snapshot_seal_detects_one_changed_character(people: dict[str, Any], tmp_path: Path) -> None:
    advisor = people["advisor"]
    conversation = chat_with(advisor)
    case = services.case_open(user=advisor, conversation_id=conversation.pk)
    snapshot = snapshots.snapshot_make(user=advisor, case_id=case.pk, conversation_id=conversation.pk)
    assert snapshot.sha256 == seal(snapshot.content)
    exported = tmp_path / "transcript.json"
    exported.write_bytes(snapshots.snapshot_json(snapshot))
    call_command("verify_transcript", str(exported))
    document = json.loads(exported.read_text(encoding="utf-8"))
    entry = next(e for e in document["content"]["entries"] if e["text"].startswith("He said"))
    entry["text"] = entry["text"].replace("kill", "kilL")
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CommandError, match="CONTENT CHANGED"):
        call_command("verify_transcript", str(tampered))
    # Unicode normalisation does not break the seal; the same text in another form is the same text.
    assert seal({"t": "café"}) == seal({"t": "cafe\u0301"})
    with pytest.raises(ImmutableError):
        snapshot.content = {}
        snapshot.save()
    with pytest.raises(ImmutableError):
        snapshot.delete()


def test_pdf_export_holds_the_transcript_and_the_seal(people: dict[str, Any], tmp_path: Path) -> None:
    advisor = people["advisor"]
    conversation = chat_with(advisor)
    case = services.case_open(user=advisor, conversation_id=conversation.pk)
    snapshot = snapshots.snapshot_make(user=advisor, case_id=case.pk, conversation_id=conversation.pk)
    from risk.tasks import snapshot_pdf

    snapshot_pdf.apply(args=(str(snapshot.pk),))  # the task itself, run here
    snapshot_pdf.apply(args=(str(snapshot.pk),))  # a second run finds the stored PDF
    stored = TranscriptSnapshot.objects.get(pk=snapshot.pk)
    assert stored.pdf is not None
    pdf = bytes(stored.pdf)
    text = " ".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    flat = " ".join(text.split())
    assert "He said he would kill me — café" in flat
    assert "You did the right thing telling us." in flat
    assert snapshot.sha256 in flat.replace(" ", "") or snapshot.sha256[:32] in flat.replace(" ", "")
    path = tmp_path / "t.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(path), str(tmp_path / "page")], check=True
    )
    first_page = tmp_path / "page-1.png"
    assert first_page.exists() and first_page.stat().st_size > 5000
    from PIL import Image

    with Image.open(first_page) as image:
        width, height = image.size
        grey = image.convert("L")
        assert abs(height / width - 297 / 210) < 0.02  # an A4 page, portrait

        def ink(top: float, bottom: float) -> int:
            band = grey.crop((0, int(height * top), width, int(height * bottom)))
            return sum(band.point(lambda v: 255 if v < 128 else 0).histogram()[255:])

        assert ink(0.05, 0.10) > 50  # the title at the top
        assert ink(0.10, 0.45) > 1000  # the seal box and the transcript table below it
        assert ink(0.60, 0.95) < ink(0.10, 0.45) / 20  # one short chat: the rest of the page is blank
    artifacts = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "transcript-pdf-page1.png").write_bytes(first_page.read_bytes())


@pytest.fixture
def eager_jobs() -> Iterator[None]:
    """Celery jobs run here and now, as in the embedded profile (the scaled one queues them on Redis)."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


def test_sealing_renders_the_pdf_once_the_snapshot_is_committed(
    people: dict[str, Any], django_capture_on_commit_callbacks: Any, eager_jobs: None
) -> None:
    advisor = people["advisor"]
    conversation = chat_with(advisor)
    case = services.case_open(user=advisor, conversation_id=conversation.pk)
    # Rolled back: no snapshot, and no PDF job left behind for it.
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(DatabaseError), transaction.atomic():
        snapshots.snapshot_make(user=advisor, case_id=case.pk, conversation_id=conversation.pk)
        raise DatabaseError("the rest of the change failed")
    assert callbacks == [] and not TranscriptSnapshot.objects.exists()
    # Committed: the PDF job runs after the commit, not before.
    with django_capture_on_commit_callbacks() as callbacks:
        snapshot = snapshots.snapshot_make(user=advisor, case_id=case.pk, conversation_id=conversation.pk)
    assert len(callbacks) == 1 and not TranscriptSnapshot.objects.get(pk=snapshot.pk).pdf
    callbacks[0]()
    assert bytes(TranscriptSnapshot.objects.get(pk=snapshot.pk).pdf or b"").startswith(b"%PDF")
    # The case page's "seal" only asks the service: the PDF comes from the same on-commit job.
    client = Client()
    client.cookies["sessionid"] = verified_session_cookie(advisor).split("=", 1)[1]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(f"/risk/cases/{case.pk}/", {"action": "snapshot", "conversation_id": conversation.pk})
    assert response.status_code == 302 and len(callbacks) == 1
    latest = TranscriptSnapshot.objects.exclude(pk=snapshot.pk).get()
    assert bytes(latest.pdf or b"").startswith(b"%PDF")


def test_repeat_referral_within_twelve_months_is_marked(people: dict[str, Any]) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    case = factories.case_with_chat(advisor)
    first = referrals.referral_draft(user=advisor, case_id=case.pk)
    referrals.referral_transition(user=advisor, referral_id=first.pk, to_state="submitted")
    Referral.objects.filter(pk=first.pk).update(submitted_at=timezone.now() - timedelta(days=200))
    services.incident_add(user=advisor, case_id=case.pk, occurred_on=timezone.localdate() - timedelta(days=10))
    assessment = services.assessment_start(user=advisor, case_id=case.pk)
    _, result = services.assessment_answer(user=advisor, assessment_id=assessment.pk, answers={"c01": {"value": "no"}})
    assert "repeat" in [c["key"] for c in result.criteria] and result.level == "high"
    second = referrals.referral_draft(user=advisor, case_id=case.pk, assessment_id=assessment.pk)
    referrals.referral_transition(user=advisor, referral_id=second.pk, to_state="submitted")
    second.refresh_from_db()
    assert second.repeat_of_id == first.pk
    assert second.form["criteria"]["repeat"] == {"met": True, "previous_reference": first.reference}
    queue = list(referrals.referral_queue(user=supervisor, repeat=True))
    assert queue == [second]


def test_reasons_and_order_of_transitions(people: dict[str, Any]) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    case = factories.case_with_chat(advisor)
    referral = referrals.referral_draft(user=advisor, case_id=case.pk)
    with pytest.raises(services.RiskError) as refused:
        referrals.referral_transition(user=supervisor, referral_id=referral.pk, to_state="accepted")
    assert refused.value.code == "invalid_state"
    referrals.referral_transition(user=advisor, referral_id=referral.pk, to_state="submitted")
    with pytest.raises(services.RiskError) as refused:
        referrals.referral_transition(user=supervisor, referral_id=referral.pk, to_state="returned")
    assert refused.value.code == "reason_required"
    referrals.referral_transition(user=supervisor, referral_id=referral.pk, to_state="returned", reason="Need the area")
    referrals.referral_update(user=advisor, referral_id=referral.pk, area="Newport")
    referrals.referral_transition(user=advisor, referral_id=referral.pk, to_state="submitted")
    referrals.referral_transition(user=advisor, referral_id=referral.pk, to_state="withdrawn", reason="Visitor asked")
    assert Referral.objects.get(pk=referral.pk).state == "withdrawn"


def test_audit_trail_cannot_be_changed(people: dict[str, Any]) -> None:
    advisor = people["advisor"]
    case = factories.case_with_chat(advisor)
    event = AuditEvent.objects.filter(case_id=case.pk).first()
    assert event is not None
    with pytest.raises(ImmutableError):
        event.action = "something else"
        event.save()
    with pytest.raises(ImmutableError):
        event.delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")


def test_overdue_referrals_remind_supervisors_once(people: dict[str, Any]) -> None:
    advisor = people["advisor"]
    case = factories.case_with_chat(advisor)
    referral = referrals.referral_draft(user=advisor, case_id=case.pk)
    referrals.referral_transition(user=advisor, referral_id=referral.pk, to_state="submitted")
    assert referrals.referral_due_reminders() == 0
    later = timezone.now() + timedelta(days=5)
    assert referrals.referral_due_reminders(now=later) == 1
    assert referrals.referral_due_reminders(now=later) == 0


def test_due_time_counts_working_days() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    friday = datetime(2026, 11, 20, 16, 0, tzinfo=ZoneInfo("Europe/London"))
    assert referrals.working_days_after(friday, 2).date().isoformat() == "2026-11-24"


@pytest.mark.django_db(transaction=True)
async def test_submissions_reach_supervisors_and_the_referrer_at_once() -> None:
    from asgiref.sync import sync_to_async

    from tests.support.ws import advisor_on_shift

    people = await sync_to_async(
        lambda: (factories.queues(), factories.staff(), factories.staff(role="supervisor"))[1:]
    )()
    advisor_user, supervisor_user = people
    advisor = await advisor_on_shift(advisor_user)
    supervisor = await advisor_on_shift(supervisor_user)

    def draft_and_submit() -> Referral:
        case = factories.case_with_chat(advisor_user)
        referral = referrals.referral_draft(user=advisor_user, case_id=case.pk)
        referrals.referral_transition(user=advisor_user, referral_id=referral.pk, to_state="submitted")
        return referral

    referral = await sync_to_async(draft_and_submit)()
    seen = await supervisor.expect("referral", reference=referral.reference)
    assert seen["state"] == "submitted"
    await advisor.expect("referral", reference=referral.reference, state="submitted")
    await sync_to_async(referrals.referral_transition)(
        user=supervisor_user, referral_id=referral.pk, to_state="under_review"
    )
    await advisor.expect("referral", reference=referral.reference, state="under_review")
    await advisor.close()
    await supervisor.close()


def test_the_admin_goes_through_the_gate_too(people: dict[str, Any]) -> None:
    from django.test import Client

    from tests.support.ws import verified_session_cookie

    advisor, supervisor = people["advisor"], people["supervisor"]
    case = factories.case_with_chat(advisor)
    type(advisor).objects.filter(pk=advisor.pk).update(is_staff=True)  # even with admin access
    type(supervisor).objects.filter(pk=supervisor.pk).update(is_staff=True, is_superuser=True)
    other = people["other"]
    type(other).objects.filter(pk=other.pk).update(is_staff=True, is_superuser=True)
    intruder = Client()
    intruder.cookies["sessionid"] = verified_session_cookie(other).split("=", 1)[1]
    assert intruder.get(f"/admin/risk/caserecord/{case.pk}/change/").status_code in (302, 404)
    assert case.reference not in intruder.get("/admin/risk/caserecord/").content.decode()
    assert intruder.get(f"/risk/cases/{case.pk}/").status_code == 404
    boss = Client()
    boss.cookies["sessionid"] = verified_session_cookie(supervisor).split("=", 1)[1]
    assert boss.get(f"/admin/risk/caserecord/{case.pk}/change/").status_code == 200
    assert AuditEvent.objects.filter(case_id=case.pk, action="case.read_admin", actor=supervisor).exists()
    first = AuditEvent.objects.filter(case_id=case.pk).first()
    assert first is not None
    assert boss.post(f"/admin/agents/auditevent/{first.pk}/delete/", {"post": "yes"}).status_code == 403


def test_case_notes_and_outcome_are_kept_and_audited(people: dict[str, Any]) -> None:
    advisor, other = people["advisor"], people["other"]
    case = factories.case_with_chat(advisor)
    services.case_note_add(user=advisor, case_id=case.pk, text="Visitor will call back on Friday")
    services.case_outcome_set(user=advisor, case_id=case.pk, outcome="Referred to refuge; safety plan agreed")
    with pytest.raises(services.RiskError):
        services.case_note_add(user=advisor, case_id=case.pk, text="   ")
    with pytest.raises(services.NotFound):
        services.case_note_add(user=other, case_id=case.pk, text="intrusion")
    case.refresh_from_db()
    assert case.outcome.startswith("Referred to refuge")
    assert [n.text for n in case.notes.all()] == ["Visitor will call back on Friday"]
    actions = set(AuditEvent.objects.filter(case_id=case.pk).values_list("action", flat=True))
    assert {"case.note", "case.outcome"} <= actions
