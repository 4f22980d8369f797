"""Starts this product's daphne: `python -m config.server -b HOST -p PORT [daphne's other options]`.

It is daphne's own command line, with these settled for every way the product is run (the
Makefile, the Procfile, deploy/, the tests' live servers, the benchmarks):

- daphne runs on uvloop's event loop. daphne builds its Twisted reactor on the asyncio event loop
  of the moment `daphne.server` is first imported, so the policy is set here, before that import.
  At the same load uvloop costs the process's main thread less CPU than Python's own loop
  (docs/performance.md, standing decisions). `SERVER_EVENT_LOOP=asyncio` keeps Python's own loop.
- the frame and message limits (256 KB: larger frames are refused by daphne, anything over the
  consumers' 64 KB gets a clear error from them), and a connection daphne fails (a frame over
  its limit, text that is not UTF-8, a broken frame) is closed with a close frame naming the
  code (1009, 1007, 1002) instead of autobahn's default of dropping the TCP connection without
  one (`close_failed_connections`); and no access log (daphne's names the client's
  address, which no visitor's should be written anywhere). Options given later on the command
  line override these.
- the event loop and the database thread (Channels runs every ORM call there) take turns with
  the GIL every millisecond instead of every 5: while one runs Python, the other waits for its
  turn, so with CPython's default a message's database write or its delivery could wait 5 ms at
  each hand-over. Under `make bench` this halved the steady p99 of a delivery without making a
  delivery cost more CPU (docs/performance.md, standing decisions).
- Twisted goes without TLS unless an `ssl:` endpoint is asked for: TLS ends at the proxy in
  front (docs/deployment.md), and Twisted's TCP transport otherwise loads its TLS support for a
  STARTTLS it never does here. (Passkey checks, through py_webauthn, load pyOpenSSL themselves,
  so leaving Twisted's TLS out no longer keeps pyOpenSSL out of the process.)
- each write to a connection goes to its socket at once when nothing is buffered, instead of on
  the reactor's next turn (config/write_through.py, with what it saved).
- a connection daphne has finished with is freed as daphne forgets it, not left in reference
  cycles for the garbage collector (config/connection_release.py).
- the application is `config.asgi:application`, imported (Django set up, every module loaded)
  before the first connection, and then the garbage collector is told to leave what exists at
  that point alone and to run less often (`settle_garbage_collector`). With `SERVER_GC_TRACE`
  naming a file, each collection's generation, length and yield is written to it
  (`trace_garbage_collector`; `make bench` reads it). Once the server has gone quiet for a
  minute, one full collection runs and glibc hands freed pages back (config/quiet_collect.py).
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
from collections.abc import Callable

from config import connection_release, quiet_collect

EVENT_LOOPS = ("uvloop", "asyncio")
DEFAULT_OPTIONS = [
    "--websocket-max-message-size",
    "262144",
    "--websocket-max-frame-size",
    "262144",
    "--access-log",
    os.devnull,
]
APPLICATION = "config.asgi:application"
# Collect the youngest generation after this many more container objects than were freed
# (CPython's default: 700), the middle one every 20 of those (default 10). See
# settle_garbage_collector.
GC_THRESHOLDS = (10_000, 20, 10)
# How long a thread holding the GIL keeps it while another waits (CPython's default: 5 ms).
SWITCH_INTERVAL_SECONDS = 0.001


def event_loop() -> str:
    """The event loop `SERVER_EVENT_LOOP` names (default uvloop); anything else is refused."""
    name = os.environ.get("SERVER_EVENT_LOOP", "uvloop")
    if name not in EVENT_LOOPS:
        raise SystemExit(f"SERVER_EVENT_LOOP must be one of {', '.join(EVENT_LOOPS)}, not {name!r}")
    return name


def install_event_loop() -> None:
    """Sets the event loop policy daphne's reactor will be built on; before `daphne.server`."""
    if "daphne.server" in sys.modules:  # its reactor would already be on another loop
        raise RuntimeError("the event loop must be chosen before daphne.server is imported")
    if event_loop() == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def leave_out_tls(argv: list[str]) -> bool:
    """Makes Twisted's TLS transport unimportable for this process unless `argv` asks for a TLS
    endpoint (daphne's `-e ssl:...`); whether it did. Before Twisted is imported: Twisted tries
    the import and goes without TLS when it fails."""
    if any("ssl:" in arg for arg in argv):
        return False
    if "twisted.internet.tcp" in sys.modules:
        raise RuntimeError("TLS must be left out before Twisted is imported")
    sys.modules.setdefault("twisted.internet._newtls", None)  # type: ignore[arg-type]  # None: "import halted"
    return True


def finish_pending_tasks() -> int:
    """After daphne's reactor has stopped: cancels the tasks still pending on its loop, lets them
    run their cleanup, and closes the loop, as `asyncio.run` does on its way out; how many there
    were. daphne cancels its application instances, not the tasks the application started for the
    whole process (the presence heartbeat, chat/engine/presence.py); left pending, they were collected
    while the interpreter shut down, which on Python's own loop ended every stop of the process
    with a segmentation fault (tests/test_server_launcher.py).
    """
    from daphne.server import twisted_loop as loop

    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()
    return len(pending)


def settle_garbage_collector() -> None:
    """Freezes what the process holds once it is set up and makes collections rarer.

    The cyclic collector stops the whole process while it runs, and a full collection walks
    every object the process has. Under `make bench` with CPython's defaults, full collections
    lasting hundreds of milliseconds made most of a run's slowest deliveries (docs/performance.md,
    standing decisions). Objects that exist once the application is loaded
    (Django, the URL conf, the models) live as long as the process, so `gc.freeze()` takes
    them out of every later collection; and fewer young collections promote fewer objects that
    are only briefly alive (a frame in flight, a pending database call) to the old generation,
    whose growth is what triggers a full collection. Cycles are still collected.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def trace_garbage_collector(path: str) -> Callable[[], None]:
    """Writes a line for each collection to `path`.<pid>: its end (Unix time), generation,
    length in ms and objects collected. The collector stops the whole process while it runs, so
    its pauses are the floor of every latency the process shows; `make bench` reports them.
    Returns what stops the tracing."""
    trace = open(f"{path}.{os.getpid()}", "a", buffering=1)  # noqa: SIM115 - open for the process's life
    started = [0.0]

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        took = (time.perf_counter() - started[0]) * 1000
        trace.write(f"{time.time():.3f} {info['generation']} {took:.2f} {info['collected']}\n")

    gc.callbacks.append(record)

    def stop() -> None:
        gc.callbacks.remove(record)
        trace.close()

    return stop


def close_failed_connections() -> None:
    """Makes daphne's websocket connections fail as RFC 6455 says: with a close frame carrying
    the code (1009 message too big, 1007 invalid UTF-8, 1002 protocol error), then the TCP
    connection dropped if the peer does not answer the close within autobahn's close handshake
    timeout (1 s). autobahn's default (`failByDrop`) dropped the connection without a frame, so
    a client could not tell a frame over 256 KB from a network fault. After `failedByMe`,
    autobahn discards the rest of the failing frame's data as it arrives: nothing of it is
    buffered. Idempotent; after the event loop is chosen (it imports daphne.server)."""
    from daphne import server
    from daphne.ws_protocol import WebSocketFactory

    if getattr(server.WebSocketFactory, "fails_with_close_frame", False):
        return

    class ClosingWebSocketFactory(WebSocketFactory):
        fails_with_close_frame = True

        def resetProtocolOptions(self) -> None:  # autobahn's name
            super().resetProtocolOptions()
            self.failByDrop = False

    server.WebSocketFactory = ClosingWebSocketFactory


def main(argv: list[str]) -> None:
    leave_out_tls(argv)
    install_event_loop()
    from config import write_through

    write_through.install()
    close_failed_connections()
    import config.asgi  # noqa: F401  (daphne imports it again by name: the same module)

    settle_garbage_collector()
    if gc.isenabled():  # a memory census may have turned it off (bench/soak_diagnose.py)
        quiet_collect.start()
    if os.environ.get("SERVER_GC_TRACE"):
        trace_garbage_collector(os.environ["SERVER_GC_TRACE"])
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    connection_release.command_line().run([*DEFAULT_OPTIONS, *argv, APPLICATION])
    finish_pending_tasks()


if __name__ == "__main__":
    main(sys.argv[1:])
