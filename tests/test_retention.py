"""The retention purge erases exactly the chats it should, whole, and the reports survive it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import ContactStatistic
from chat.models import Assignment, Conversation, Message, Visitor, VisitorBlock
from chat.retention import retention_purge, statistics_roll_up
from chat.services.visitor import conversation_start, triage_submit, visitor_create
from risk import reports
from risk import services as risk
from tests import factories
from tests.factories import closed_chat

pytestmark = pytest.mark.django_db

ANSWERS = {"safe_to_talk": "yes", "in_danger": "no", "about": "myself"}


def test_purge_erases_old_unlinked_chats_whole_and_reports_survive() -> None:
    factories.queues()
    advisor = factories.staff()
    factories.StaffProfile.objects.filter(user=advisor).update(availability="on_shift", capacity=10)
    old = closed_chat(advisor, "old words", days_ago=8)
    old_visitor = old.visitor_id
    kept_for_case = closed_chat(advisor, "words of record", days_ago=30)
    recent = closed_chat(advisor, "recent words", days_ago=2)
    risk.case_open(user=advisor, conversation_id=kept_for_case.pk)
    visitor, _ = visitor_create()
    conversation_start(visitor_id=visitor.pk, conn_id="o")
    still_open = triage_submit(visitor_id=visitor.pk, answers=ANSWERS)

    today = timezone.localdate()
    statistics_roll_up()
    before = reports.build(today - timedelta(days=40), today)
    assert retention_purge() == 1
    assert retention_purge() == 0  # idempotent

    # Nothing that describes the person or the chat is left: no row, no log, no triage answers,
    # no record of who handled it, no visitor session.
    assert not Conversation.objects.filter(pk=old.pk).exists()
    assert not Message.objects.filter(conversation_id=old.pk).exists()
    assert not Assignment.objects.filter(conversation_id=old.pk).exists()
    assert not Visitor.objects.filter(pk=old_visitor).exists()
    for conversation, word in ((kept_for_case, "words of record"), (recent, "recent words")):
        texts = set(Message.objects.filter(conversation=conversation).values_list("text", flat=True))
        assert word in texts and f"note {word}" in texts
        assert Conversation.objects.get(pk=conversation.pk).triage
    assert Message.objects.filter(conversation=still_open).exclude(text="").exists()

    # What stays is anonymous: unlinked, and its time kept to the hour.
    detached = ContactStatistic.objects.filter(conversation__isnull=True)
    assert detached.count() == 1
    row = detached.get()
    assert (row.contact_at.minute, row.contact_at.second, row.contact_at.microsecond) == (0, 0, 0)
    assert row.about == "myself" and row.outcome == "emotional_support"

    after = reports.build(today - timedelta(days=40), today)
    assert before["contacts"] == after["contacts"] >= 3
    assert before["duration_median"] == after["duration_median"]
    assert before["wait_median"] == after["wait_median"]
    assert [s.rows for s in before["series"]] == [s.rows for s in after["series"]]


def test_purge_keeps_a_chat_attached_to_a_case_after_the_cutoff() -> None:
    factories.queues()
    advisor = factories.staff()
    factories.StaffProfile.objects.filter(user=advisor).update(availability="on_shift", capacity=10)
    chat = closed_chat(advisor, "kept", days_ago=400)
    risk.case_open(user=advisor, conversation_id=chat.pk)
    assert retention_purge() == 0
    assert Message.objects.filter(conversation=chat, text="kept").exists()


def test_purge_ends_expired_sessions_that_never_chatted_and_keeps_live_ones() -> None:
    expired, _ = visitor_create()
    live, _ = visitor_create()
    Visitor.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    retention_purge()
    assert not Visitor.objects.filter(pk=expired.pk).exists()
    assert Visitor.objects.filter(pk=live.pk).exists()


def test_purge_honours_the_configured_period(settings: object) -> None:
    factories.queues()
    advisor = factories.staff()
    factories.StaffProfile.objects.filter(user=advisor).update(availability="on_shift", capacity=10)
    chat = closed_chat(advisor, "two days", days_ago=2)
    settings.CHAT = {**settings.CHAT, "RETENTION_DAYS": 3}  # type: ignore[attr-defined]
    assert retention_purge() == 0
    settings.CHAT = {**settings.CHAT, "RETENTION_DAYS": 1}  # type: ignore[attr-defined]
    assert retention_purge() == 1
    assert not Conversation.objects.filter(pk=chat.pk).exists()


def test_expired_staff_sessions_are_cleared() -> None:
    from django.contrib.sessions.models import Session

    from agents.tasks import sessions_clear

    Session.objects.create(session_key="old", session_data="", expire_date=timezone.now() - timedelta(seconds=1))
    Session.objects.create(session_key="live", session_data="", expire_date=timezone.now() + timedelta(hours=1))
    sessions_clear()
    assert set(Session.objects.values_list("session_key", flat=True)) == {"live"}


def test_every_retention_job_is_scheduled(settings: object) -> None:
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}  # type: ignore[attr-defined]
    assert {
        "chat.tasks.retention_purge",
        "risk.tasks.case_retention_review",
        "agents.tasks.sessions_clear",
    } <= tasks


def test_the_retention_command_runs_every_job() -> None:
    from io import StringIO

    from django.core.management import call_command

    factories.queues()
    advisor = factories.staff()
    factories.StaffProfile.objects.filter(user=advisor).update(availability="on_shift", capacity=10)
    old = closed_chat(advisor, "old words", days_ago=8)
    out = StringIO()
    call_command("retention", stdout=out)
    assert "Chats erased: 1." in out.getvalue() and "Cases due for review: 0" in out.getvalue()
    assert not Conversation.objects.filter(pk=old.pk).exists()


def test_purge_erases_blocks_that_ended_long_enough_ago_and_keeps_the_rest() -> None:
    advisor = factories.staff()
    now = timezone.now()

    def block(*, expires_days: float, lifted_days: float | None = None) -> int:
        row = VisitorBlock.objects.create(
            token_hash="f" * 64,
            reason="abusive",
            note="threats",
            hours=1,
            created_by=advisor,
            expires_at=now - timedelta(days=expires_days),
            lifted_at=None if lifted_days is None else now - timedelta(days=lifted_days),
            lifted_by=None if lifted_days is None else advisor,
        )
        return row.pk

    expired_long_ago = block(expires_days=31)
    lifted_long_ago = block(expires_days=-5, lifted_days=31)  # would still run, but was lifted
    expired_lately = block(expires_days=29)
    lifted_lately = block(expires_days=-5, lifted_days=29)
    running = block(expires_days=-1)
    retention_purge()
    assert set(VisitorBlock.objects.values_list("pk", flat=True)) == {expired_lately, lifted_lately, running}
    assert not VisitorBlock.objects.filter(pk__in=[expired_long_ago, lifted_long_ago]).exists()
