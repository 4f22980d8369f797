"""What a queue snapshot shows every advisor serving the queue of each waiting visitor: enough to
choose whom to take, not the triage answers, which go only to the staff in the conversation."""

from typing import Any

import pytest

from chat import selectors
from chat.models import Conversation, Queue
from chat.services.visitor import conversation_start, triage_submit, visitor_create
from chat.setup_models import Region, TriageOption, TriageQuestion
from tests import factories

pytestmark = pytest.mark.django_db


def queued(answers: dict[str, Any]) -> Conversation:
    visitor, _ = visitor_create()
    conversation = conversation_start(visitor_id=visitor.pk, conn_id="test:1")
    triage_submit(visitor_id=visitor.pk, answers=answers, conversation_id=conversation.pk)
    return Conversation.objects.select_related("queue", "assigned_to__staff").get(pk=conversation.pk)


def entries(queue: Queue) -> dict[str, dict[str, Any]]:
    return {entry["conversation_id"]: entry for entry in selectors.queue_snapshot(queue)["entries"]}


def test_a_snapshot_shows_what_choosing_needs_and_the_summary_keeps_every_answer() -> None:
    factories.queues()
    Region.objects.create(slug="wales", name="Wales")
    children = TriageQuestion.objects.create(key="children", prompt="Are there children at home?", order=25)
    TriageOption.objects.create(question=children, value="yes", label="Yes", order=1)
    TriageOption.objects.create(question=children, value="no", label="No", order=2)
    answers = {
        "in_danger": "no",
        "safe_to_talk": "yes",
        "about": "myself",
        "help": ["legal", "housing"],
        "children": "yes",
        "region": "wales",
    }
    calm = queued(answers)
    urgent = queued({**answers, "in_danger": "yes"})
    assert calm.queue == urgent.queue and calm.queue is not None

    shown = entries(calm.queue)
    assert shown[str(calm.pk)]["triage"] == {
        "in_danger": False,
        "about": "myself",
        "language": "",
        "help": ["legal", "housing"],
        "region": "wales",
        # What staff read in place of the codes.
        "labels": {"about": "Me", "help": "Legal advice, Housing or refuge", "region": "Wales"},
    }
    assert shown[str(urgent.pk)]["triage"]["in_danger"] is True
    assert "children" not in str(shown)  # the added question and its answer stay out

    # The conversation's own summary, which its staff get, still carries every answer.
    summary = selectors.conversation_summary(calm)
    assert summary["triage"]["answers"]["children"] == "yes"
    assert {"key": "children", "role": "other", "question": "Are there children at home?", "answer": "Yes"} in summary[
        "triage"
    ]["summary"]


def test_a_visitor_queued_without_triage_shows_none() -> None:
    factories.queues()
    conversation = queued({"in_danger": "no", "safe_to_talk": "yes", "about": "myself", "help": []})
    Conversation.objects.filter(pk=conversation.pk).update(triage={})
    assert conversation.queue is not None
    assert entries(conversation.queue)[str(conversation.pk)]["triage"] is None
