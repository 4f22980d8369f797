"""The retention purge deletes exactly the text it should, and the reports survive it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents import reports
from agents.services import statistics_roll_up
from chat import services
from chat.models import Conversation, Message
from risk import services as risk
from tests import factories

pytestmark = pytest.mark.django_db

ANSWERS = {"safe_to_talk": "yes", "in_danger": "no", "about": "myself"}


def closed_chat(advisor, text: str, *, days_ago: float) -> Conversation:
    visitor, _ = services.visitor_create()
    services.conversation_start(visitor_id=visitor.pk, conn_id="c")
    conversation = services.triage_submit(visitor_id=visitor.pk, answers=ANSWERS)
    actor = services.staff_actor(user_id=advisor.pk)
    services.conversation_accept(actor=actor, conversation_id=conversation.pk)
    services.message_send_visitor(visitor_id=visitor.pk, client_msg_id="v", text=text)
    services.message_send_staff(
        actor=actor, conversation_id=conversation.pk, client_msg_id="n", text=f"note {text}", kind="note"
    )
    services.conversation_end_staff(actor=actor, conversation_id=conversation.pk, outcome="emotional_support")
    shift = timedelta(days=days_ago)
    row = Conversation.objects.get(pk=conversation.pk)
    Conversation.objects.filter(pk=conversation.pk).update(
        created_at=row.created_at - shift,
        queued_at=row.queued_at - shift,  # type: ignore[operator]
        accepted_at=row.accepted_at - shift,  # type: ignore[operator]
        closed_at=row.closed_at - shift,  # type: ignore[operator]
    )
    return conversation


def test_purge_deletes_old_unlinked_text_only_and_reports_survive() -> None:
    factories.queues()
    advisor = factories.staff()
    factories.StaffProfile.objects.filter(user=advisor).update(availability="on_shift", capacity=10)
    old = closed_chat(advisor, "old words", days_ago=8)
    kept_for_case = closed_chat(advisor, "words of record", days_ago=30)
    recent = closed_chat(advisor, "recent words", days_ago=2)
    risk.case_open(user=advisor, conversation_id=kept_for_case.pk)
    visitor, _ = services.visitor_create()
    services.conversation_start(visitor_id=visitor.pk, conn_id="o")
    still_open = services.triage_submit(visitor_id=visitor.pk, answers=ANSWERS)

    today = timezone.localdate()
    statistics_roll_up()
    before = reports.build(today - timedelta(days=40), today)
    assert services.retention_purge() == 1
    assert services.retention_purge() == 0  # idempotent

    old_texts = set(Message.objects.filter(conversation=old).values_list("text", flat=True))
    assert old_texts == {""}
    assert Conversation.objects.get(pk=old.pk).purged_at is not None
    for conversation, word in ((kept_for_case, "words of record"), (recent, "recent words")):
        texts = set(Message.objects.filter(conversation=conversation).values_list("text", flat=True))
        assert word in texts and f"note {word}" in texts
    assert Message.objects.filter(conversation=still_open).exclude(text="").exists()

    after = reports.build(today - timedelta(days=40), today)
    assert before["contacts"] == after["contacts"] >= 3
    assert before["duration_median"] == after["duration_median"]
    assert [s.rows for s in before["series"]] == [s.rows for s in after["series"]]
