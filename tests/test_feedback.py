"""The optional, anonymous "Did this chat help?" at the end of a chat (chat/feedback.py): kept only
as counts by day and answer, given once per chat, refused without an ended chat, shown in the
reports."""

from datetime import date, timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.utils import timezone

from chat import reports
from chat.models import Conversation, FeedbackCount
from tests import factories
from tests.support.ws import advisor_on_shift, queued_visitor, verified_session_cookie, visitor_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("setup_queues")]


async def counts() -> dict[str, int]:
    return {row.answer: row.count async for row in FeedbackCount.objects.all()}


async def test_an_answer_is_counted_once_and_not_linked_to_the_chat() -> None:
    advisor = await advisor_on_shift(await sync_to_async(factories.staff)())
    visitor, _, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)
    # Not before the chat has ended.
    assert await visitor.error("feedback", answer="yes") == "no_ended_chat"
    await advisor.ok("conversation.end", conversation_id=conversation_id, outcome="emotional_support")
    await visitor.expect("status", state="closed")

    assert await visitor.ok("feedback", answer="partly") == {"answer": "partly"}
    assert await counts() == {"partly": 1}
    # Twice: refused, and the count stays.
    assert await visitor.error("feedback", answer="yes") == "feedback_given"
    assert await counts() == {"partly": 1}
    # Nothing links the count to the chat: the row has a day, an answer and a count only.
    row = await FeedbackCount.objects.aget()
    assert {f.name for f in FeedbackCount._meta.get_fields()} == {"id", "day", "answer", "count"}
    assert row.day == timezone.localdate()
    assert (await Conversation.objects.aget(pk=conversation_id)).feedback_given is True

    # A second visitor's answer adds to the same day's counts.
    other, _, other_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=other_id)
    await other.ok("conversation.end")
    await other.ok("feedback", answer="partly")
    await other.error("feedback", answer="no")
    assert await counts() == {"partly": 2}
    for client in (advisor, visitor, other):
        await client.close()


async def test_bad_feedback_is_refused_and_counts_nothing() -> None:
    fresh = await visitor_socket().connect()
    await fresh.ok("hello")
    # No chat at all.
    assert await fresh.error("feedback", answer="yes") == "no_ended_chat"
    await fresh.close()

    visitor, _, conversation_id = await queued_visitor()
    await visitor.ok("conversation.end")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"answer": "maybe"}, "answer: Input should be 'yes', 'partly' or 'no'"),
        ({"answer": ""}, "answer: Input should be 'yes', 'partly' or 'no'"),
        ({"answer": ["yes"]}, "answer: Input should be 'yes', 'partly' or 'no'"),
        ({}, "answer: Field required"),
        ({"answer": "yes", "conversation_id": conversation_id}, "Unknown field 'conversation_id'."),
    ]
    for fields, message in cases:
        reply = await visitor.request("feedback", **fields)
        assert reply["error"]["code"] == "invalid" and message in reply["error"]["message"], (fields, reply)
    # Without hello.
    anonymous = await visitor_socket().connect()
    assert await anonymous.error("feedback", answer="yes") == "hello_required"
    await anonymous.close()
    # Too long after the chat ended.
    await Conversation.objects.filter(pk=conversation_id).aupdate(closed_at=timezone.now() - timedelta(hours=2))
    assert await visitor.error("feedback", answer="yes") == "no_ended_chat"
    assert await counts() == {}
    await visitor.close()


async def test_no_feedback_after_quick_exit() -> None:
    visitor, _, _ = await queued_visitor()
    await visitor.ok("quick_exit")
    assert await visitor.error("feedback", answer="no") == "no_ended_chat"
    assert await counts() == {}
    await visitor.close()


def test_the_reports_show_the_counts_for_the_period(db: None) -> None:
    day = date(2026, 3, 3)
    FeedbackCount.objects.create(day=day, answer="yes", count=5)
    FeedbackCount.objects.create(day=day, answer="no", count=1)
    FeedbackCount.objects.create(day=day + timedelta(days=1), answer="partly", count=2)
    FeedbackCount.objects.create(day=day + timedelta(days=30), answer="yes", count=100)  # outside
    report = reports.build(day, day + timedelta(days=6))
    series = {s.key: s for s in report["series"]}["feedback"]
    assert series.rows == [("Yes", 5), ("Partly", 2), ("No", 1)]
    assert ["feedback", "Partly", 2] in reports.csv_rows(report)
    assert {s.key: s for s in reports.build(day + timedelta(days=60), day + timedelta(days=61))["series"]}[
        "feedback"
    ].rows == []

    supervisor = factories.staff(role="supervisor")
    client = Client()
    client.cookies.load(verified_session_cookie(supervisor))
    page = client.get("/console/reports/", {"start": day.isoformat(), "end": (day + timedelta(days=6)).isoformat()})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Did this chat help? (visitors&#x27; answers)" in html
    assert '<th scope="row">Partly</th><td>2</td>' in html
