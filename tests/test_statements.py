"""The statements written out for the database thread's hot paths (chat.engine.statements,
chat.engine.handoff_store) read and write what the ORM would, on SQLite and on PostgreSQL."""

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import close_old_connections, connection, transaction
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import StaffProfile
from bench.message_write import ANSWERS
from chat.engine import handoff_store, statements
from chat.models import Assignment, Conversation, Queue
from chat.services.visitor import conversation_start, triage_submit, visitor_create
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def _queued(**changes: Any) -> Conversation:
    visitor, _ = visitor_create()
    conversation = conversation_start(visitor_id=visitor.pk, conn_id="test:1")
    triage_submit(visitor_id=visitor.pk, answers=ANSWERS, conversation_id=conversation.pk)
    if changes:
        Conversation.objects.filter(pk=conversation.pk).update(**changes)
    return Conversation.objects.get(pk=conversation.pk)


def _stored(instance: Model) -> dict[str, Any]:
    return {name: getattr(instance, name) for name in statements.concrete(type(instance))}


def test_a_row_reads_back_as_the_orm_builds_it() -> None:
    factories.queues()
    user = factories.staff(languages=["en", "pl"])
    conversation = _queued(language="pl", accepted_at=timezone.now(), assigned_to_id=user.pk)

    with transaction.atomic():
        locked = statements.lock_one(Conversation, "id", conversation.pk)
        profile = statements.lock_one(StaffProfile, "user_id", user.pk)
        assert statements.lock_one(StaffProfile, "user_id", user.pk + 1000) is None

    assert locked is not None and profile is not None
    assert _stored(locked) == _stored(Conversation.objects.get(pk=conversation.pk))
    assert locked.triage == conversation.triage and isinstance(locked.triage, dict) and locked.triage
    assert _stored(profile) == _stored(StaffProfile.objects.get(user_id=user.pk))
    assert profile.languages == ["en", "pl"]
    assert not locked._state.adding and locked._state.db == "default"
    assert list(profile.queues.values_list("slug", flat=True)) == ["general"]


def test_insert_and_update_write_what_the_orm_would() -> None:
    factories.queues()
    user = factories.staff()
    conversation = _queued()
    now = timezone.now()

    pk = statements.insert(
        Assignment,
        {
            "conversation_id": conversation.pk,
            "user_id": user.pk,
            "role": Assignment.Role.HOLDER,
            "started_at": now,
            "start_reason": Assignment.Reason.ACCEPTED,
            "ended_at": None,
            "end_reason": "",
        },
    )
    other = _queued()
    changed = statements.update(
        Conversation,
        conversation.pk,
        {"state": Conversation.State.ACTIVE, "assigned_to_id": user.pk, "accepted_at": now},
    )

    stored = Assignment.objects.get(pk=pk)
    assert (stored.conversation_id, stored.user_id, stored.role, stored.started_at) == (
        conversation.pk,
        user.pk,
        "holder",
        now,
    )
    assert changed == 1
    after = Conversation.objects.get(pk=conversation.pk)
    assert (after.state, after.assigned_to_id, after.accepted_at) == ("active", user.pk, now)
    assert _stored(Conversation.objects.get(pk=other.pk)) == _stored(other)  # only the row named
    assert statements.update(Conversation, Conversation().pk, {"state": "active"}) == 0


def test_the_locking_clause_is_the_databases() -> None:
    clause = statements.lock(skip_locked=True, of="c")
    if connection.vendor == "postgresql":
        assert clause == " FOR UPDATE OF c SKIP LOCKED"
    else:
        assert clause == ""  # SQLite: the IMMEDIATE transaction holds the write lock


def test_queued_for_is_the_queue_order_of_the_queues_served() -> None:
    queues = factories.queues()
    user = factories.staff(queues_=["general", "professionals"])
    profile = StaffProfile.objects.get(user_id=user.pk)
    first = _queued()
    urgent = _queued(priority=5)
    assert first.queue_key is not None
    older = _queued(queue_key=first.queue_key - timedelta(seconds=30))
    elsewhere = _queued(queue=queues["perpetrator"])
    professional = _queued(queue=queues["professionals"], language="pl")
    _queued(state=Conversation.State.ACTIVE)

    found = handoff_store.queued_for(profile.pk, 10)

    expected = list(
        Conversation.objects.filter(state="queued", queue__in=profile.queues.all())
        .order_by("-priority", "queue_key", "pk")
        .values_list("pk", "queue_id", "language", "detected_language", "queued_at")
    )
    assert found == expected
    assert [row[0] for row in found][:2] == [urgent.pk, older.pk]
    assert elsewhere.pk not in [row[0] for row in found] and professional.pk in [row[0] for row in found]
    assert handoff_store.queued_for(profile.pk, 2) == expected[:2]


def test_lock_first_queued_takes_the_first_still_queued_with_its_queue() -> None:
    factories.queues()
    first = _queued()
    second = _queued()
    third = _queued(priority=1)
    Conversation.objects.filter(pk=third.pk).update(state=Conversation.State.CLOSED)

    with transaction.atomic():
        locked = handoff_store.lock_first_queued([second.pk, third.pk, first.pk])
        assert handoff_store.lock_first_queued([third.pk]) is None
        assert handoff_store.lock_first_queued([]) is None
        assert locked is not None
        with CaptureQueriesContext(connection) as queries:
            queue = locked.queue
    assert locked.pk == first.pk and _stored(locked) == _stored(Conversation.objects.get(pk=first.pk))
    assert queries.captured_queries == [] and queue is not None
    assert _stored(queue) == _stored(Queue.objects.get(slug="general"))


@pytest.mark.scaled
def test_a_row_another_transaction_is_taking_is_skipped_not_waited_for() -> None:
    factories.queues()
    first, second = _queued(), _queued()
    holding, release = threading.Event(), threading.Event()

    def other_advisor() -> None:
        try:
            with transaction.atomic():
                assert handoff_store.lock_first_queued([first.pk]) is not None
                holding.set()
                release.wait(30)
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=other_advisor)
    thread.start()
    try:
        assert holding.wait(30)
        with transaction.atomic():
            locked = handoff_store.lock_first_queued([first.pk, second.pk])
        assert locked is not None and locked.pk == second.pk
    finally:
        release.set()
        thread.join(30)


def test_the_gates_reads_a_chat_with_its_queue_and_whether_the_advisor_serves_it() -> None:
    queues = factories.queues()
    user = factories.staff(queues_=["general"])
    queued = _queued()
    visitor, _ = visitor_create()
    in_triage = conversation_start(visitor_id=visitor.pk, conn_id="test:2")
    Conversation.objects.filter(pk=in_triage.pk).update(queue=None)

    with transaction.atomic():
        locked = handoff_store.lock(queued.pk)
        unqueued = handoff_store.lock(in_triage.pk)
        assert handoff_store.lock(Conversation().pk) is None
        assert locked is not None and unqueued is not None
        with CaptureQueriesContext(connection) as queries:
            queue, no_queue = locked.queue, unqueued.queue
    assert queries.captured_queries == [] and no_queue is None and queue is not None
    assert _stored(locked) == _stored(Conversation.objects.get(pk=queued.pk))
    assert _stored(queue) == _stored(queues["general"])
    assert handoff_store.serves(user.pk, queues["general"].pk)
    assert not handoff_store.serves(user.pk, queues["perpetrator"].pk)
    assert not handoff_store.serves(user.pk + 1000, queues["general"].pk)
