"""Secure delivery of a reviewed referral, against a real SMTP server (aiosmtpd): two emails naming
no one (the link, then the code), a link that opens the referral once with its code, receipts,
refusals, retries when the mail server is down, never a second send, and reminders."""

import base64
import re
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from agents.audit_models import AuditEvent
from chat.models import Conversation
from chat.services.handoff import conversation_end_staff
from chat.services.kernel import staff_actor
from chat.setup_models import Region
from config.celery import app as celery_app
from risk import delivery, delivery_send, pdf_signing, referrals, retention, services, snapshots
from risk.agency_models import Agency, MaracArea
from risk.delivery_models import ReferralDelivery
from risk.models import Referral
from risk.tasks import referral_delivery_reminders, referral_delivery_send
from tests.factories import signed_in
from tests.factories.risk import case_with_chat, directory
from tests.support.smtp import Mailbox, free_port, smtp_server

pytestmark = pytest.mark.django_db

SURNAME = "Testperson-Unique"


@pytest.fixture
def mailbox(settings: Any) -> Iterator[Mailbox]:
    box = Mailbox()
    with smtp_server(box) as port:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
        settings.RISK = {**settings.RISK, "DELIVERY_BASE_URL": "https://chat.example.org", "DELIVERY_RETRIES": 2}
        eager = celery_app.conf.task_always_eager
        celery_app.conf.task_always_eager = True  # as in the embedded profile, in the scaled run too
        yield box
        celery_app.conf.task_always_eager = eager


def accepted_referral(people: dict[str, Any], kind: str = "marac", case: Any = None) -> Referral:
    """A reviewed referral of `kind`, from a new case in Cardiff's area unless `case` is given."""
    advisor, supervisor = people["advisor"], people["supervisor"]
    if case is None:
        directory("Cardiff", ("south-wales",))
        case = case_with_chat(advisor)
        Conversation.objects.filter(case_links__case=case).update(region="south-wales")
    referral = referrals.referral_draft(user=advisor, case_id=case.pk, kind=kind)
    referrals.referral_update(user=advisor, referral_id=referral.pk, form={"victim": {"surname": SURNAME}})
    referrals.referral_transition(user=advisor, referral_id=referral.pk, to_state="submitted")
    referrals.referral_transition(user=supervisor, referral_id=referral.pk, to_state="under_review")
    return referrals.referral_transition(user=supervisor, referral_id=referral.pk, to_state="accepted")


def deliver(user: Any, referral: Referral, capture: Any, **kwargs: Any) -> ReferralDelivery:
    with capture(execute=True):
        made = delivery.delivery_request(user=user, referral_id=referral.pk, **kwargs)
    return ReferralDelivery.objects.get(pk=made.pk)


def link_and_code(box: Mailbox) -> tuple[str, str]:
    link_body, code_body = box.bodies()[-2:]
    token = re.search(r"https://chat\.example\.org/r/([A-Za-z0-9_-]+)/", link_body)
    code = re.search(r"\b(\d{4} \d{4})\b", code_body)
    assert token and code
    return token.group(1), code.group(1)


def actions(referral: Referral) -> list[str]:
    return list(AuditEvent.objects.filter(referral_id=referral.pk).values_list("action", flat=True))


def test_delivered_opened_once_with_its_code_and_the_receipt_shown(
    people: dict[str, Any], mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    referral = accepted_referral(people)
    sent = deliver(people["supervisor"], referral, django_capture_on_commit_callbacks)
    assert sent.sent_at and sent.link_sent_at and sent.code_sent_at and sent.attempts == 2
    assert [m["To"] for m in mailbox.messages] == ["marac@cardiff.example.org"] * 2
    for message in mailbox.messages:  # naming no one: not the victim, not the case
        assert SURNAME not in message.as_string() and referral.case.reference not in message.as_string()
        assert referral.reference in message["Subject"]
    token, code = link_and_code(mailbox)
    assert code.replace(" ", "") not in mailbox.bodies()[0] and token not in mailbox.bodies()[1]
    # Nothing in clear in the database: only hashes.
    stored = ReferralDelivery.objects.filter(pk=sent.pk).values().get()
    assert not any(token in str(v) or code.replace(" ", "") in str(v) for v in stored.values())

    agency = Client()
    page = agency.get(f"/r/{token}/")
    assert page.status_code == 200 and b"One-time code" in page.content and SURNAME.encode() not in page.content
    assert page["Referrer-Policy"] == "same-origin" and "no-store" in page["Cache-Control"]
    opened = agency.post(f"/r/{token}/", {"code": code})
    assert opened.status_code == 200 and SURNAME.encode() in opened.content
    again = agency.post(f"/r/{token}/", {"code": code})
    assert again.status_code == 410 and SURNAME.encode() not in again.content and b"already been used" in again.content
    assert agency.get(f"/r/{token}/").status_code == 410

    sent.refresh_from_db()
    assert sent.opened_at is not None and sent.used
    assert {"referral.delivery_requested", "referral.delivery_link_sent", "referral.delivery_code_sent"} <= set(
        actions(referral)
    )
    assert "referral.delivery_opened" in actions(referral) and "referral.delivery_refused" in actions(referral)
    page = signed_in(people["supervisor"]).get(f"/risk/referrals/{referral.pk}/")
    assert b"Receipt: opened" in page.content and b"Cardiff MARAC coordinator" in page.content


def test_wrong_codes_are_counted_and_close_the_link(
    people: dict[str, Any], mailbox: Mailbox, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.RISK = {**settings.RISK, "DELIVERY_CODE_ATTEMPTS": 3}
    referral = accepted_referral(people)
    deliver(people["supervisor"], referral, django_capture_on_commit_callbacks)
    token, code = link_and_code(mailbox)
    agency = Client()
    first = agency.post(f"/r/{token}/", {"code": "0000 0000" if code != "0000 0000" else "1111 1111"})
    assert first.status_code == 400 and b"2 tries left" in first.content
    assert agency.post(f"/r/{token}/", {"code": "x" * 5000}).status_code == 400  # oversized: just wrong
    with django_capture_on_commit_callbacks(execute=True):
        last = agency.post(f"/r/{token}/", {"code": ""})
    assert last.status_code == 410 and b"too many wrong codes" in last.content
    # Even the right code opens nothing now.
    assert agency.post(f"/r/{token}/", {"code": code}).status_code == 410
    assert actions(referral).count("referral.delivery_wrong_code") == 3
    assert ReferralDelivery.objects.get(referral=referral).opened_at is None


def test_expired_unknown_and_malformed_links_open_nothing(
    people: dict[str, Any], mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    referral = accepted_referral(people)
    sent = deliver(people["supervisor"], referral, django_capture_on_commit_callbacks)
    token, code = link_and_code(mailbox)
    ReferralDelivery.objects.filter(pk=sent.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = Client().post(f"/r/{token}/", {"code": code})
    assert expired.status_code == 410 and b"expired" in expired.content and SURNAME.encode() not in expired.content
    for wrong in (token[:-1] + ("A" if token[-1] != "A" else "B"), "short", "x" * 300):
        assert Client().get(f"/r/{wrong}/").status_code == 404
    assert ReferralDelivery.objects.get(pk=sent.pk).opened_at is None


def test_only_supervisors_deliver_reviewed_referrals_with_an_agency(
    people: dict[str, Any], mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    advisor, other, supervisor = people["advisor"], people["other"], people["supervisor"]
    referral = accepted_referral(people)
    with pytest.raises(services.RiskError) as refused:
        delivery.delivery_request(user=advisor, referral_id=referral.pk)
    assert refused.value.code == "forbidden"
    with pytest.raises(services.NotFound):
        delivery.delivery_request(user=other, referral_id=referral.pk)
    draft = referrals.referral_draft(user=advisor, case_id=referral.case_id)
    with pytest.raises(services.RiskError) as refused:
        delivery.delivery_request(user=supervisor, referral_id=draft.pk)
    assert refused.value.code == "invalid_state"
    Referral.objects.filter(pk=referral.pk).update(agency=None)
    with pytest.raises(services.RiskError) as refused:
        delivery.delivery_request(user=supervisor, referral_id=referral.pk)
    assert refused.value.code == "no_agency"
    assert not ReferralDelivery.objects.exists() and mailbox.messages == []
    # Through the page: the advisor gets no button and a forged post is refused.
    page = signed_in(advisor).get(f"/risk/referrals/{referral.pk}/")
    assert b"Deliver to" not in page.content
    forged = signed_in(advisor).post(f"/risk/referrals/{referral.pk}/", {"action": "deliver", "seen": "0"})
    assert forged.status_code == 400 and not ReferralDelivery.objects.exists()


def test_a_second_click_sends_nothing_and_send_again_replaces_the_link(
    people: dict[str, Any], mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    supervisor = people["supervisor"]
    referral = accepted_referral(people, kind="idva")
    client = signed_in(supervisor)
    page = client.get(f"/risk/referrals/{referral.pk}/")
    assert b"Deliver to Cardiff IDVA service" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/risk/referrals/{referral.pk}/", {"action": "deliver", "seen": "0"}).status_code == 302
        assert client.post(f"/risk/referrals/{referral.pk}/", {"action": "deliver", "seen": "0"}).status_code == 400
    assert len(mailbox.messages) == 2 and ReferralDelivery.objects.count() == 1
    old_token, old_code = link_and_code(mailbox)
    deliver(supervisor, referral, django_capture_on_commit_callbacks, seen=1)
    assert len(mailbox.messages) == 4
    assert Client().post(f"/r/{old_token}/", {"code": old_code}).status_code == 410
    token, code = link_and_code(mailbox)
    assert token != old_token and Client().post(f"/r/{token}/", {"code": code}).status_code == 200
    assert "referral.delivery_cancelled" in actions(referral)


def test_a_refusing_server_fails_the_delivery_and_tells_supervisors(
    people: dict[str, Any], mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    mailbox.refuse = True
    referral = accepted_referral(people)
    failed = deliver(people["supervisor"], referral, django_capture_on_commit_callbacks)
    assert failed.failed_at and failed.sent_at is None and failed.last_error == "smtp_550" and failed.attempts == 1
    assert mailbox.messages == [] and "referral.delivery_failed" in actions(referral)
    event = AuditEvent.objects.get(referral_id=referral.pk, action="referral.delivery_failed")
    assert event.detail["delivery_error"] == "smtp_550"
    page = signed_in(people["supervisor"]).get(f"/risk/referrals/{referral.pk}/")
    assert b"Failed (smtp_550)" in page.content and b"Send again to" in page.content
    # Running the task again sends nothing.
    referral_delivery_send.delay(str(failed.pk))
    assert mailbox.messages == [] and ReferralDelivery.objects.get(pk=failed.pk).attempts == 1


def test_a_busy_server_is_tried_again_and_each_email_goes_once(
    people: dict[str, Any], mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    mailbox.try_later = 2  # 451 to the link email twice, then accepted
    referral = accepted_referral(people)
    sent = deliver(people["supervisor"], referral, django_capture_on_commit_callbacks)
    assert sent.sent_at and sent.attempts == 4 and len(mailbox.messages) == 2
    assert actions(referral).count("referral.delivery_retry") == 2
    # The task again (a redelivered message, a second worker): nothing more is sent.
    referral_delivery_send.delay(str(sent.pk))
    assert delivery_send.delivery_send(delivery_id=str(sent.pk)) == "sent"
    assert len(mailbox.messages) == 2


def test_a_server_that_is_down_is_retried_then_given_up_and_sent_once_later(
    people: dict[str, Any], mailbox: Mailbox, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    port = free_port()
    settings.EMAIL_PORT = port  # nothing listens there
    referral = accepted_referral(people)
    down = deliver(people["supervisor"], referral, django_capture_on_commit_callbacks)
    retries = settings.RISK["DELIVERY_RETRIES"]
    assert down.failed_at and down.sent_at is None and down.last_error == "unreachable"
    assert down.attempts == retries + 1 and actions(referral).count("referral.delivery_retry") == retries
    assert delivery_send.retry_countdown(0) < delivery_send.retry_countdown(1) < delivery_send.retry_countdown(2)
    box = Mailbox()
    with smtp_server(box, port=port):
        deliver(people["supervisor"], referral, django_capture_on_commit_callbacks, seen=1)
        referral_delivery_send.delay(str(down.pk))  # the failed one is not sent late
    assert len(box.messages) == 2


def test_a_send_whose_outcome_is_unknown_is_never_repeated_and_is_raised(
    people: dict[str, Any], mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    referral = accepted_referral(people)
    with django_capture_on_commit_callbacks(execute=False):
        made = delivery.delivery_request(user=people["supervisor"], referral_id=referral.pk)
    # A worker claimed the link email and died before marking it sent.
    assert delivery_send._claim(str(made.pk), delivery_send.LINK) is not None
    referral_delivery_send.delay(str(made.pk))
    assert mailbox.messages == []
    assert delivery_send.delivery_reminders()["unconfirmed"] == 0  # not stale yet
    later = timezone.now() + timedelta(minutes=20)
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery_send.delivery_reminders(now=later) == {"unopened": 0, "unconfirmed": 1}
    assert delivery_send.delivery_reminders(now=later)["unconfirmed"] == 0
    assert "referral.delivery_unconfirmed" in actions(referral)
    page = signed_in(people["supervisor"]).get(f"/risk/referrals/{referral.pk}/")
    assert b"Not known whether it was sent" in page.content


def test_unopened_deliveries_past_due_are_raised_once(
    people: dict[str, Any], mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    referral = accepted_referral(people)
    sent = deliver(people["supervisor"], referral, django_capture_on_commit_callbacks)
    assert referral_delivery_reminders.delay().get() == {"unopened": 0, "unconfirmed": 0}
    later = timezone.now() + timedelta(hours=49)
    assert delivery_send.delivery_reminders(now=later)["unopened"] == 1
    assert delivery_send.delivery_reminders(now=later)["unopened"] == 0
    assert ReferralDelivery.objects.get(pk=sent.pk).open_reminder_sent_at is not None
    assert "referral.delivery_unopened" in actions(referral)
    queue = signed_in(people["supervisor"]).get("/risk/referrals/")
    assert b"Deliveries needing attention" not in queue.content  # not past due yet, now
    ReferralDelivery.objects.filter(pk=sent.pk).update(open_due_at=timezone.now() - timedelta(minutes=1))
    queue = signed_in(people["supervisor"]).get("/risk/referrals/")
    assert b"Deliveries needing attention" in queue.content and b"Sent, not opened by its due time" in queue.content


def test_deliveries_go_with_the_erased_case(
    people: dict[str, Any], mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    directory("Cardiff", ("south-wales",))
    case = case_with_chat(advisor, area="Cardiff")
    referral = referrals.referral_draft(user=advisor, case_id=case.pk)
    for who, state in ((advisor, "submitted"), (supervisor, "under_review"), (supervisor, "accepted")):
        referrals.referral_transition(user=who, referral_id=referral.pk, to_state=state)
    deliver(supervisor, referral, django_capture_on_commit_callbacks)
    token, code = link_and_code(mailbox)
    for conversation in Conversation.objects.filter(case_links__case=case):
        conversation_end_staff(
            actor=staff_actor(user_id=advisor.pk), conversation_id=conversation.pk, outcome="emotional_support"
        )
    retention.case_erase(user=supervisor, case_id=case.pk, reason="Asked in writing", confirm_reference=case.reference)
    assert not ReferralDelivery.objects.exists()
    assert Client().post(f"/r/{token}/", {"code": code}).status_code == 404


def test_the_demo_directory_is_repeatable_and_never_in_production(settings: Any) -> None:
    Region.objects.get_or_create(slug="wales", defaults={"name": "Wales"})
    for _ in range(2):
        call_command("demo_directory", stdout=StringIO())
    assert MaracArea.objects.count() == 3 and Agency.objects.count() == 3 * len(Agency.Kind.values)
    assert list(MaracArea.objects.get(name="Cardiff").regions.values_list("slug", flat=True)) == ["wales"]
    assert all(email.endswith(".example.org") for email in Agency.objects.values_list("email", flat=True))
    settings.PRODUCTION = True
    with pytest.raises(CommandError):
        call_command("demo_directory", stdout=StringIO())


def test_an_attached_sealed_transcript_is_shown_with_the_referral(
    people: dict[str, Any], mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    referral = accepted_referral(people, kind="idva")
    conversation = Conversation.objects.filter(case_links__case=referral.case).get()
    snapshot = snapshots.snapshot_make(
        user=people["advisor"], case_id=referral.case_id, conversation_id=conversation.pk
    )
    Referral.objects.filter(pk=referral.pk).update(snapshot=snapshot)
    deliver(people["supervisor"], referral, django_capture_on_commit_callbacks)
    token, code = link_and_code(mailbox)
    opened = Client().post(f"/r/{token}/", {"code": code})
    assert opened.status_code == 200 and b"Attached: the sealed transcript" in opened.content
    assert snapshot.sha256.encode() in opened.content
    first_line = snapshot.content["entries"][0]["text"]
    assert first_line and first_line.encode() in opened.content
    # The signed PDF comes in the page (a second request would find the link used) and checks out.
    found = re.search(
        rb'href="data:application/pdf;base64,([A-Za-z0-9+/=]+)" download="(I-\w+-transcript-\w+\.pdf)"', opened.content
    )
    assert found, "no signed transcript to save"
    report = pdf_signing.verify_pdf(base64.b64decode(found.group(1)))
    assert snapshot.sha256 in report


def test_a_sent_delivery_marks_an_agency_referral_sent_but_not_a_marac_one(
    people: dict[str, Any], mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    idva = accepted_referral(people, kind="idva")
    assert idva.reference.startswith("I-")
    deliver(people["supervisor"], idva, django_capture_on_commit_callbacks)
    idva.refresh_from_db()
    assert idva.state == "sent"
    moved = idva.transitions.get(to_state="sent")
    assert moved.from_state == "accepted" and moved.by == people["supervisor"] and "Cardiff" in moved.reason
    assert "referral.sent" in actions(idva)
    # Sending again (a new link) moves nothing further; a MARAC referral waits to be listed.
    deliver(people["supervisor"], idva, django_capture_on_commit_callbacks, seen=1)
    idva.refresh_from_db()
    assert idva.state == "sent" and idva.transitions.filter(to_state="sent").count() == 1
    marac = accepted_referral(people, kind="marac", case=idva.case)
    assert marac.reference.startswith("M-")
    deliver(people["supervisor"], marac, django_capture_on_commit_callbacks)
    marac.refresh_from_db()
    assert marac.state == "accepted" and "referral.sent" not in actions(marac)


def test_a_failed_delivery_leaves_the_referral_accepted(
    people: dict[str, Any], mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    mailbox.refuse = True
    referral = accepted_referral(people, kind="mash")
    assert referral.reference.startswith("S-")
    deliver(people["supervisor"], referral, django_capture_on_commit_callbacks)
    referral.refresh_from_db()
    assert referral.state == "accepted"
