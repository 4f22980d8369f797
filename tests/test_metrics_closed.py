"""`/metrics` counts the chats closed in the last hour by the index on `closed_at`: a scrape
reads those rows only, not the week of conversations the retention keeps."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from chat.metrics import ChatStateCollector
from chat.models import Conversation
from tests import factories

pytestmark = pytest.mark.django_db


def closed_last_hour() -> float:
    for family in ChatStateCollector().collect():
        if family.name == "chat_closed_last_hour":
            return float(family.samples[0].value)
    raise AssertionError("no chat_closed_last_hour")


def test_chats_closed_in_the_last_hour_are_counted_by_the_index() -> None:
    factories.queues()
    advisor = factories.staff()
    factories.StaffProfile.objects.filter(user=advisor).update(availability="on_shift", capacity=10)
    for hours in (0, 0.8, 1.2, 72):
        factories.closed_chat(advisor, "hello", days_ago=hours / 24)
    factories.chat_with(advisor)  # open: no closed_at
    assert closed_last_hour() == 2

    now = timezone.now()

    query = Conversation.objects.filter(closed_at__gte=now - timedelta(hours=1)).values("pk")
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
            assert "conv_closed_at" in plan, plan
        else:  # too few rows for PostgreSQL's planner to prefer it: only that it exists
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'conv_closed_at'")
            assert "(closed_at)" in cursor.fetchone()[0]
