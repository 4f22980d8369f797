"""A take (queue.take_next, conversation.accept) builds the visitor's status, the staff summary
and the advisor's staff state inside its transaction, from the rows it holds, instead of reading
them again after commit: what it broadcasts must be what a fresh read gives, and it must stay a
short transaction, since takes wait for each other on the database thread."""

from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.services import staff_group
from bench.message_write import ANSWERS
from chat import selectors
from chat.engine import events, queueing
from chat.errors import ProtocolError
from chat.models import Conversation
from chat.services.handoff import conversation_accept, queue_take_next
from chat.services.kernel import StaffActor, staff_actor
from chat.services.notices import staff_state
from chat.services.staff import availability_set
from chat.services.visitor import conversation_start, triage_submit, visitor_create
from tests import factories
from tests.support.ws import advisor_on_shift, queued_visitor, staff_socket

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[events.Event]]:
    """The broadcasts of the calls made in the test, gathered as a socket's database call does."""
    factories.queues()
    monkeypatch.setattr(queueing, "refresh", lambda queue_id, *, staff=True: None)  # not these
    gathered: list[events.Event] = []
    token = events._outbox.set(gathered)
    try:
        yield gathered
    finally:
        events._outbox.reset(token)


def _queued() -> Conversation:
    visitor, _ = visitor_create()
    conversation = conversation_start(visitor_id=visitor.pk, conn_id="test:1")
    triage_submit(visitor_id=visitor.pk, answers=ANSWERS, conversation_id=conversation.pk)
    return conversation


def _take_next(actor: StaffActor, _: Conversation) -> Conversation:
    return queue_take_next(actor=actor)


def _accept(actor: StaffActor, conversation: Conversation) -> Conversation:
    return conversation_accept(actor=actor, conversation_id=conversation.pk)


TAKES = [pytest.param(_take_next, id="take_next"), pytest.param(_accept, id="accept")]
Take = Callable[[StaffActor, Conversation], Conversation]


def _messages(outbox: list[events.Event], kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(group, message) for group, message in outbox if message["type"] == kind]


@pytest.mark.parametrize("take", TAKES)
def test_a_take_broadcasts_what_a_fresh_read_gives(
    take: Take, outbox: list[events.Event], django_capture_on_commit_callbacks: Any
) -> None:
    user = factories.staff(capacity=3)
    name = user.staff.display_name
    actor = staff_actor(user_id=user.pk)
    availability_set(actor=actor, availability="on_shift")
    already = _queued()
    with django_capture_on_commit_callbacks(execute=True):
        conversation_accept(actor=actor, conversation_id=already.pk)  # a load of 1 before
    queued = _queued()
    outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        taken = take(actor, queued)

    assert taken.pk == queued.pk
    fresh = Conversation.objects.select_related("queue", "assigned_to__staff").get(pk=queued.pk)
    assert fresh.state == Conversation.State.ACTIVE and fresh.assigned_to_id == user.pk
    assert fresh.accepted_at is not None and fresh.last_seq == taken.last_seq
    status = selectors.visitor_status(fresh)
    summary = selectors.conversation_summary(fresh)
    assert status["advisor_name"] == name and summary["holder"] == {"user_id": user.pk, "name": name}
    assert _messages(outbox, "chat.status") == [
        (events.conv_visitor_group(queued.pk), {"type": "chat.status", "status": status})
    ]
    assert _messages(outbox, "chat.summary") == [
        (events.conv_staff_group(queued.pk), {"type": "chat.summary", "summary": summary}),
        (events.SUPERVISORS_GROUP, {"type": "chat.summary", "summary": summary}),
    ]
    state = staff_state(user_id=user.pk)
    assert state["load"] == 2
    assert _messages(outbox, "chat.staff_state") == [
        (staff_group(user.pk), {"type": "chat.staff_state", "state": state}),
        (events.SUPERVISORS_GROUP, {"type": "chat.staff_state", "state": state}),
    ]
    # The visitor hears the entry before the status that follows from it.
    kinds = [message["type"] for group, message in outbox if group == events.conv_visitor_group(queued.pk)]
    assert kinds == ["chat.entry", "chat.status"]


@pytest.mark.parametrize("take", TAKES)
def test_a_refused_take_broadcasts_nothing_and_changes_nothing(
    take: Take, outbox: list[events.Event], django_capture_on_commit_callbacks: Any
) -> None:
    user = factories.staff(capacity=1)
    actor = staff_actor(user_id=user.pk)
    availability_set(actor=actor, availability="on_shift")
    with django_capture_on_commit_callbacks(execute=True):
        _accept(actor, _queued())
    queued = _queued()
    outbox.clear()

    with pytest.raises(ProtocolError) as refused, django_capture_on_commit_callbacks(execute=True):
        take(actor, queued)

    assert refused.value.code == "at_capacity"
    assert outbox == []
    assert Conversation.objects.get(pk=queued.pk).state == Conversation.State.QUEUED


@pytest.mark.parametrize(
    ("take", "count"), [pytest.param(_take_next, 7, id="take_next"), pytest.param(_accept, 7, id="accept")]
)
def test_a_take_runs_few_data_statements(take: Take, count: int, outbox: list[events.Event]) -> None:
    """Lock the profile, count its load, find the candidates and lock one with its queue
    (accept: lock the chat with its queue, check the advisor serves the queue), record the
    assignment, update the conversation, append the entry. Each statement more is what every
    take queued behind it waits for on the database thread (`python -m bench.take`)."""
    user = factories.staff()
    actor = staff_actor(user_id=user.pk)
    availability_set(actor=actor, availability="on_shift")
    queued = _queued()
    with CaptureQueriesContext(connection) as queries:
        take(actor, queued)
    data = [q["sql"] for q in queries if q["sql"].split()[0] in ("SELECT", "INSERT", "UPDATE", "DELETE")]
    assert len(data) == count, "\n".join(data)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["queue.take_next", "conversation.accept"])
async def test_the_takers_reply_and_log_and_their_other_tab(kind: str) -> None:
    """The taker's reply carries the summary a fresh read gives; the taker's tab and the
    advisor's other tab each get the chat's log once, in order; the visitor is told."""
    from asgiref.sync import sync_to_async
    from channels.db import database_sync_to_async

    from chat import selectors

    await sync_to_async(factories.queues)()
    user = await sync_to_async(factories.staff)()
    taker = await advisor_on_shift(user)
    other_tab = await (await staff_socket(user)).connect()
    await other_tab.ok("hello")
    visitor, _, conversation_id = await queued_visitor()

    fields = {"conversation_id": conversation_id} if kind == "conversation.accept" else {}
    result = await taker.ok(kind, **fields)

    fresh = await database_sync_to_async(selectors.conversation_summaries)(
        conversation_ids=[UUID(conversation_id)], user_id=user.pk
    )
    assert result["conversation"] == fresh[0]
    assert result["conversation"]["role"] == "holder" and result["conversation"]["holder"]["user_id"] == user.pk
    await visitor.expect("entry", event="assigned")
    for tab in (taker, other_tab):
        assigned = await tab.expect("entry", event="assigned", conversation_id=conversation_id)
        await tab.drain(0.3)
        log = [m for m in tab.frames if m.get("type") == "entry" and m.get("conversation_id") == conversation_id]
        seqs = [m["seq"] for m in log]
        assert seqs == sorted(set(seqs)) and seqs[-1] == assigned["seq"] and seqs[0] == 1, seqs
    for socket in (taker, other_tab, visitor):
        await socket.close()
