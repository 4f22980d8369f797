"""The launcher the tests and the benchmarks share (harness/servers.py): a process that exits
or never listens is said so, with what it wrote, within the time given."""

import os
import sys
import time
from pathlib import Path

import pytest

from harness import servers


def test_a_process_that_exits_before_listening_is_named_with_its_output(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "import sys; print('no database here'); sys.exit(3)"]
    proc = servers.spawn("quitter", command, env=dict(os.environ), log=tmp_path / "q.log", port=servers.free_port())
    with pytest.raises(RuntimeError, match="quitter exited with 3") as caught:
        servers.wait_listening(proc, timeout=20)
    assert "no database here" in str(caught.value)


def test_a_process_that_never_listens_is_given_up_on_in_time(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "import time; time.sleep(60)"]
    proc = servers.spawn("sleeper", command, env=dict(os.environ), log=tmp_path / "s.log", port=servers.free_port())
    started = time.monotonic()
    try:
        with pytest.raises(RuntimeError, match=f"sleeper not listening on {proc.port} after 0.5s"):
            servers.wait_listening(proc, timeout=0.5)
        assert time.monotonic() - started < 5
    finally:
        servers.stop_all([proc], grace=2)
    assert not proc.alive()
