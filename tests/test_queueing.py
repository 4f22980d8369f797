"""Coalesced queue broadcasts: a long queue is gathered for longer, up to a second."""

import pytest

from chat import queueing


def test_a_long_queue_is_sent_less_often() -> None:
    queueing._last_length.pop(999_001, None)
    assert queueing.delay(999_001) == pytest.approx(0.15)
    queueing._last_length[999_001] = 100
    assert queueing.delay(999_001) == pytest.approx(0.45)
    queueing._last_length[999_001] = 5000
    assert queueing.delay(999_001) == pytest.approx(1.0)
    queueing._last_length.pop(999_001)
