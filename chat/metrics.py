"""Prometheus metrics. Gauges are read from the database at scrape time (any process can
answer); handling latency is measured in the process that handled each frame."""

from collections.abc import Iterator
from datetime import timedelta

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from agents.models import StaffProfile
from chat.models import Conversation, Queue

# No auto_describe: describing the state collector would query the database at import.
REGISTRY = CollectorRegistry()

HANDLING_SECONDS = Histogram(
    "chat_frame_handling_seconds",
    "Time from receiving a websocket frame to replying (stored and broadcast when it is a message).",
    ["socket", "type"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)

# Every frame a socket receives, whatever becomes of it: `type` is the message type when it is
# one the socket accepts (else `-`), `outcome` is `ok` or the error code of the reply
# (`ignored`: the socket was already closing; `session_ended`: a console whose session may no
# longer use it). Both label sets are fixed, whatever a client sends.
FRAMES_RECEIVED = Counter(
    "chat_frames_received",
    "Websocket frames received, by socket, message type and outcome.",
    ["socket", "type", "outcome"],
    registry=REGISTRY,
)


class ChatStateCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        length = GaugeMetricFamily("chat_queue_length", "Conversations waiting in each queue.", labels=["queue"])
        longest = GaugeMetricFamily(
            "chat_queue_longest_wait_seconds", "How long the longest-waiting conversation has waited.", labels=["queue"]
        )
        waiting = {
            row["queue__slug"]: row
            for row in Conversation.objects.filter(state=Conversation.State.QUEUED)
            .values("queue__slug")
            .annotate(n=Count("pk"), first=Min("queued_at"))
        }
        for slug in Queue.objects.values_list("slug", flat=True):
            row = waiting.get(slug)
            length.add_metric([slug], row["n"] if row else 0)
            first = row["first"] if row else None
            longest.add_metric([slug], (now - first).total_seconds() if first else 0)
        yield length
        yield longest

        by_state = GaugeMetricFamily("chat_conversations", "Open conversations by state.", labels=["state"])
        counts = dict(
            Conversation.objects.filter(state__in=Conversation.OPEN_STATES)
            .values_list("state")
            .annotate(n=Count("pk"))
            .values_list("state", "n")
        )
        for state in Conversation.OPEN_STATES:
            by_state.add_metric([state], counts.get(state, 0))
        yield by_state

        staff = GaugeMetricFamily("chat_staff", "Staff by availability.", labels=["availability"])
        availability = dict(
            StaffProfile.objects.filter(user__is_active=True)
            .values_list("availability")
            .annotate(n=Count("pk"))
            .values_list("availability", "n")
        )
        for value in StaffProfile.Availability.values:
            staff.add_metric([value], availability.get(value, 0))
        yield staff

        closed = GaugeMetricFamily("chat_closed_last_hour", "Conversations closed in the last hour.")
        closed.add_metric([], Conversation.objects.filter(closed_at__gte=now - timedelta(hours=1)).count())
        yield closed


REGISTRY.register(ChatStateCollector())
