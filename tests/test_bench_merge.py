"""The load generator's two sides are joined by `bench.loadgen.merge`: what one side sent is
counted as lost, delivered or duplicated from what the other received, and a handoff runs from
the consoles' take to the visitors' `assigned`."""

from typing import Any

import pytest

from bench.loadgen import merge


def part(side: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "mode": "chat",
        "side": side,
        "conversations": 2,
        "sockets": 2,
        "elapsed": 10.0,
        "sent": {},
        "received": {},
        "take_sent": {},
        "assigned_at": {},
        "assigned_written": {},
        "takes": [],
        "position_changes": [],
        "drain_seconds": 1.0,
        "loadgen_cpu_s": 1.5,
        "errors": {},
        "connect_seconds": [0.01, 0.02],
        "latency": {},
        "timeline": {},
        "steady_from": 100.0,
    }
    base.update(fields)
    return base


def test_messages_are_counted_across_the_sides() -> None:
    visitors = part(
        "visitors",
        sent={"v0.1": 1, "v0.2": 1, "v1.1": 1},
        received={"a0.1": 1, "a1.1": 2},
        latency={"advisor_to_visitor": [0.01, 0.02, 0.03]},
        timeline={"0": [2, 0.02], "1": [1, 0.03]},
        frames_received={"visitor": {"entry": 3, "reply": 3}},
    )
    consoles = part(
        "consoles",
        sent={"a0.1": 1, "a1.1": 1, "a1.2": 1},
        received={"v0.1": 1, "v1.1": 1},
        latency={"visitor_to_advisor": [0.04, 0.05]},
        timeline={"1": [2, 0.05]},
        frames_received={"console": {"entry": 2, "queue": 5}},
    )
    merged = merge([visitors, consoles])
    assert merged["messages_sent"] == 6
    assert merged["messages_received"] == 5
    assert merged["lost"] == 2
    assert merged["lost_sample"] == ["a1.2", "v0.2"]
    assert merged["duplicated"] == 1
    assert merged["latency"]["advisor_to_visitor"] == [0.01, 0.02, 0.03]
    assert merged["latency"]["visitor_to_advisor"] == [0.04, 0.05]
    assert merged["steady_timeline"] == [[0, 2, 20.0], [1, 3, 50.0]]
    assert merged["sockets"] == 4
    assert merged["client_processes"] == 2
    assert merged["loadgen_cpu_s"] == 3.0
    assert merged["frames_received"] == {"visitor": {"entry": 3, "reply": 3}, "console": {"queue": 5, "entry": 2}}


def test_a_handoff_runs_from_the_take_to_the_visitors_entry() -> None:
    consoles = part("consoles", take_sent={"c1": 10.0, "c2": 20.0, "c3": 30.0}, takes=[10.0, 20.0, 30.0])
    visitors = part(
        "visitors",
        assigned_at={"c1": 10.05, "c2": 20.2},  # c3 never seen: no figure for it
        assigned_written={"c1": 10.03},
        position_changes=[5.0, 10.5, 21.0],  # the first came before any take
    )
    merged = merge([consoles, visitors])
    latency = merged["latency"]
    assert latency["handoff"] == pytest.approx([0.05, 0.2])
    assert latency["handoff_until_written"] == pytest.approx([0.03])
    assert latency["handoff_written_to_seen"] == pytest.approx([0.02])
    assert latency["queue_position_update"] == pytest.approx([0.5, 1.0])
    # Seconds after the first take, the handoff and its part until the write, in ms.
    assert merged["handoff_timeline"] == [[0.0, 50.0, 30.0], [10.0, 200.0, None]]


def test_one_process_running_both_sides_is_merged_alone() -> None:
    both = part("both", sent={"v0.1": 1, "a0.1": 1}, received={"v0.1": 1, "a0.1": 1})
    merged = merge([both])
    assert (merged["lost"], merged["duplicated"], merged["client_processes"]) == (0, 0, 1)


@pytest.mark.parametrize("length", [0, 7, 1234])
def test_the_load_generator_reads_a_snapshots_length_as_the_server_frames_it(length: int) -> None:
    from datetime import UTC, datetime
    from uuid import uuid4

    from bench.loadgen import QUEUE_FRAME, queue_length
    from chat.engine import events
    from chat.protocol.outbound import QueueEntry, QueueSnapshot, QueueTriage

    entry = QueueEntry(
        conversation_id=uuid4(),
        priority=1,
        language="en",
        topic='"length":99',
        triage=QueueTriage(in_danger=False, about='"length": 5', language="en", help=["length"], region=""),
        queued_at=datetime.now(UTC),
        position=1,
    )
    snapshot = QueueSnapshot(queue="general", name='Queue "length":3', length=length, entries=[entry] * 3)
    raw = events.frame(snapshot.model_dump(mode="json"))
    assert raw.startswith(QUEUE_FRAME)
    assert queue_length(raw) == length
