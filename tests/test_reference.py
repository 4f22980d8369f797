"""Reference data cached per process (chat.reference) and broadcasts sent from the event loop
after a socket's database call (chat.engine.events.database_call)."""

import contextvars
import logging
from datetime import time
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.utils import translation

from agents.models import StaffProfile
from chat import hours, reference, selectors, triage
from chat.engine import events
from chat.services.kernel import StaffActor
from chat.services.status import service_pause_set, service_status
from chat.setup_models import OpeningHours
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_change_saved_through_the_orm_is_seen_at_once_and_an_unsignalled_one_within_the_ttl() -> None:
    OpeningHours.objects.all().delete()
    assert hours.opening_status()["week"][0]["hours"] == ["Closed"]
    row = OpeningHours.objects.create(weekday=0, opens=time(9, 0), closes=time(17, 0))
    assert hours.opening_status()["week"][0]["hours"] == ["09:00\u201317:00"]
    # A queryset update sends no signal: the cached week is still served (the TTL bounds it) ...
    OpeningHours.objects.filter(pk=row.pk).update(closes=time(18, 0))
    assert hours.opening_status()["week"][0]["hours"] == ["09:00\u201317:00"]
    # ... until it expires or is cleared.
    reference.clear("chat.openinghours")
    assert hours.opening_status()["week"][0]["hours"] == ["09:00\u201318:00"]


def test_a_save_naming_fields_clears_only_the_caches_that_read_them() -> None:
    factories.queues()
    user = factories.staff(languages=["en"])
    assert "so" not in triage.offered_languages()
    profile = StaffProfile.objects.get(user=user)
    StaffProfile.objects.filter(pk=profile.pk).update(languages=["en", "so"])  # no signal
    profile.refresh_from_db()
    profile.save(update_fields=["disconnected_at"])  # what a console connecting saves
    assert "so" not in triage.offered_languages()
    profile.save(update_fields=["languages"])
    assert "so" in triage.offered_languages()


def test_a_pause_is_seen_at_once_by_the_process_that_set_it() -> None:
    supervisor = factories.staff(role="supervisor")
    actor = StaffActor(user_id=supervisor.pk, name="S", is_supervisor=True)
    assert service_status()["paused"] is False
    service_pause_set(actor=actor, paused=True, message="Back soon.")
    assert service_status() == {**service_status(), "paused": True, "message": "Back soon."}


def test_a_hello_is_shown_the_last_broadcast_snapshot_and_a_fresh_one_later(monkeypatch: Any) -> None:
    queue = factories.queues()["general"]
    broadcast = selectors.fresh_queue_snapshot(queue)
    assert selectors.recent_queue_snapshot(queue) is broadcast
    monkeypatch.setattr(selectors, "RECENT_SNAPSHOT_SECONDS", 0.0)
    assert selectors.recent_queue_snapshot(queue) is not broadcast
    assert selectors.recent_queue_snapshot(queue) == broadcast


@pytest.mark.asyncio
async def test_broadcasts_of_a_database_call_leave_from_the_event_loop_after_it() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("reference.test", channel)
    seen_inside: list[Any] = []

    def service() -> str:
        events.send_now([("reference.test", {"type": "chat.test", "n": 1})])
        events.send_now([("reference.test", {"type": "chat.test", "n": 2})])
        seen_inside.append(list(events._outbox.get() or []))  # gathered, not sent
        return "done"

    assert await events.database_call(service)() == "done"
    assert [message["n"] for _, message in seen_inside[0]] == [1, 2]
    assert (await layer.receive(channel))["n"] == 1
    assert (await layer.receive(channel))["n"] == 2
    # Outside a socket's call (Celery, commands) send_now sends at once, as before.
    assert events._outbox.get() is None
    await database_sync_to_async(service)()
    assert (await layer.receive(channel))["n"] == 1


@pytest.mark.asyncio
async def test_a_database_call_leaves_nothing_in_the_callers_context() -> None:
    """asgiref copies context variables set in the thread back to the caller; a socket's task
    lives as long as the socket, so whatever a service left there stayed for that long."""

    def service() -> str:
        with translation.override("fr"):
            events.send_now([])
        translation.activate("de")
        return translation.get_language()

    def held(value: Any) -> Any:
        return getattr(value, "data", value)  # asgiref re-wraps its locals' data on every call

    def changed(before: contextvars.Context) -> dict[str, Any]:
        after = contextvars.copy_context()
        return {var.name: after[var] for var in after if var not in before or held(before[var]) != held(after[var])}

    before = contextvars.copy_context()
    assert await events.database_call(service)() == "de"
    # asgiref marks the caller's context once, on its first call from it, and that is all.
    assert changed(before) == {"deadlock_context": False}
    before = contextvars.copy_context()
    assert await events.database_call(service)() == "de"
    assert changed(before) == {}
    assert events._outbox.get() is None


@pytest.mark.asyncio
async def test_a_layer_that_is_down_loses_the_broadcasts_not_the_call(
    monkeypatch: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async def down(batch: list[events.Event]) -> None:
        raise ConnectionRefusedError("layer down")

    monkeypatch.setattr(events, "send_all", down)

    def service() -> str:
        events.send_now([("reference.test", {"type": "chat.test"})])
        return "stored"

    with caplog.at_level(logging.WARNING, logger="chat.engine.events"):
        assert await events.database_call(service)() == "stored"
    assert "1 events not broadcast" in caplog.text
