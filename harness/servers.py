"""Starting the product's processes for tests and benchmarks: a free port, a daphne of the
product (`python -m config.server`, with its event loop and frame limits) or any other command,
its output in a log file, and a bounded wait until it listens. Only 127.0.0.1 is used."""

import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class Process:
    """A process started here, its log file (None: its output is dropped) and its port."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path | None = None
    port: int = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """`sig` (SIGKILL unless told), then wait for the exit (a SIGKILL after 10 s)."""
        if self.alive():
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """A polite stop (SIGTERM) first."""
        self.kill(signal.SIGTERM)

    def wait(self, timeout: float) -> bool:
        """Whether the process exited within `timeout` seconds."""
        try:
            self.process.wait(timeout=max(0.01, timeout))
        except subprocess.TimeoutExpired:
            return False
        return True

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log is not None and self.log.exists() else ""

    def tail(self, chars: int = 3000) -> str:
        return f"--- {self.name} (port {self.port}, exit {self.process.poll()}) ---\n{self.log_text()[-chars:]}"


def spawn(
    name: str,
    command: Sequence[str],
    *,
    env: dict[str, str],
    log: Path | None = None,
    port: int = 0,
    new_session: bool = False,
) -> Process:
    """`command` from the checkout's root, its stdout and stderr to `log`."""
    with contextlib.ExitStack() as files:
        out = files.enter_context(log.open("wb")) if log is not None else subprocess.DEVNULL
        process = subprocess.Popen(  # noqa: S603 - the caller's command, never a shell
            list(command),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=new_session,
        )
    return Process(name, process, log, port)


def wait_listening(*processes: Process, timeout: float = 30.0) -> None:
    """Until each process accepts connections on its port; RuntimeError, with its log, if one
    exits or is still not listening after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    for proc in processes:
        while True:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited with {proc.process.returncode}\n{proc.tail()}")
            with contextlib.suppress(OSError), socket.create_connection((HOST, proc.port), timeout=0.5):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{proc.name} not listening on {proc.port} after {timeout}s\n{proc.tail()}")
            time.sleep(0.05)  # polling another process, bounded by the deadline


def daphne(
    name: str,
    *,
    env: dict[str, str],
    log: Path | None = None,
    port: int | None = None,
    args: Sequence[str] = (),
    new_session: bool = False,
    wait: bool = True,
) -> Process:
    """One daphne of the product on 127.0.0.1 (a free port unless given); with `wait`, once it
    listens. `args` are more of daphne's options (config/server.py)."""
    port = port or free_port()
    command = [sys.executable, "-m", "config.server", "-b", HOST, "-p", str(port), *args]
    proc = spawn(name, command, env=env, log=log, port=port, new_session=new_session)
    if wait:
        try:
            wait_listening(proc)
        except BaseException:
            proc.kill()
            raise
    return proc


def stop_all(processes: Sequence[Process], grace: float = 10.0) -> None:
    """SIGTERM to every one at once, then a SIGKILL to each still there after `grace` seconds."""
    for proc in processes:
        if proc.alive():
            proc.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in processes:
        if not proc.wait(deadline - time.monotonic()):
            proc.kill()
