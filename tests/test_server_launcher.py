"""`python -m config.server`, which starts every daphne of the product: the event loop it puts
daphne's reactor on, what it refuses, the interpreter settings it makes before daphne runs, and a
polite stop (SIGTERM, SIGINT) mid-chat on each loop, after which the chat resumes on a new
process."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.live import ROOT, LiveServer, embedded_server
from tests.support.rawws import RawWebsocket

TRIAGE = {"safe_to_talk": "yes", "in_danger": "no", "about": "myself", "help": []}


def python(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """This interpreter with these arguments, in the project, with this environment (default ours)."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=os.environ if env is None else env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


LOOP_OF_DAPHNE = (
    "from config import server; server.install_event_loop(); "
    "import daphne.server; print(type(daphne.server.twisted_loop).__module__)"
)


@pytest.mark.parametrize(("name", "module"), [("uvloop", "uvloop"), ("asyncio", "asyncio.unix_events")])
def test_daphne_reactor_runs_on_the_chosen_loop(name: str, module: str) -> None:
    done = python("-c", LOOP_OF_DAPHNE, env={**os.environ, "SERVER_EVENT_LOOP": name})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == module


def test_uvloop_is_the_default() -> None:
    env = {k: v for k, v in os.environ.items() if k != "SERVER_EVENT_LOOP"}
    done = python("-c", LOOP_OF_DAPHNE, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "uvloop"


def test_an_unknown_loop_is_refused_before_anything_starts() -> None:
    done = python("-m", "config.server", "-b", "127.0.0.1", "-p", "1", env={**os.environ, "SERVER_EVENT_LOOP": "trio"})
    assert done.returncode != 0
    assert "SERVER_EVENT_LOOP must be one of uvloop, asyncio, not 'trio'" in done.stderr


def test_choosing_the_loop_after_daphne_is_imported_is_an_error() -> None:
    done = python("-c", "import daphne.server; from config import server; server.install_event_loop()")
    assert done.returncode != 0
    assert "before daphne.server is imported" in done.stderr


def test_daphnes_own_application_argument_is_not_taken_twice() -> None:
    """The launcher serves this product's application; naming another is refused by daphne's parser."""
    done = python("-m", "config.server", "-p", "1", "other.asgi:application")
    assert done.returncode == 2
    assert "unrecognized arguments" in done.stderr


TLS_IMPORTED = (
    "import sys; from config import server; left_out = server.leave_out_tls(sys.argv[1:]); "
    "import daphne.server, twisted.internet.tcp as tcp; "
    "print(left_out, tcp.ITLSTransport.__name__)"
)


def test_twisted_goes_without_tls_unless_an_ssl_endpoint_is_asked_for() -> None:
    plain = python("-c", TLS_IMPORTED, "-b", "127.0.0.1", "-p", "8000")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.split() == ["True", "Interface"]  # Twisted's stand-in: no STARTTLS
    tls = python("-c", TLS_IMPORTED, "-e", "ssl:8443:privateKey=key.pem:certKey=cert.pem")
    assert tls.returncode == 0, tls.stderr
    assert tls.stdout.split() == ["False", "ITLSTransport"]


def test_leaving_tls_out_after_twisted_is_imported_is_an_error() -> None:
    done = python("-c", "import twisted.internet.tcp; from config import server; server.leave_out_tls([])")
    assert done.returncode != 0
    assert "before Twisted is imported" in done.stderr


# --- a polite stop mid-chat --------------------------------------------------------------------


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[list[LiveServer]]:
    started: list[LiveServer] = []
    yield started
    for server in started:
        server.stop()


def chatting(server: LiveServer) -> tuple[RawWebsocket, RawWebsocket, str, str]:
    """(visitor, advisor, visitor token, conversation id), one message each way already exchanged."""
    cookie = server.shell(
        "from django.contrib.auth import get_user_model; from tests.support.ws import verified_session_cookie; "
        "print(verified_session_cookie(get_user_model().objects.get(username='advisor1')))"
    ).splitlines()[-1]
    staff = RawWebsocket(server.port, "/ws/console/", origin=server.url, cookie=cookie)
    staff.ok("hello")
    staff.ok("availability.set", availability="on_shift")
    visitor = RawWebsocket(server.port, "/ws/visitor/", origin=server.url)
    token = visitor.ok("hello")["token"]
    conversation_id = visitor.ok("conversation.start")["conversation_id"]
    visitor.ok("triage.submit", answers=TRIAGE)
    staff.ok("conversation.accept", conversation_id=conversation_id)
    visitor.ok("message.send", client_msg_id="v-1", text="before the stop")
    staff.expect(type="entry", client_msg_id="v-1")
    staff.ok("message.send", conversation_id=conversation_id, client_msg_id="a-1", text="still here")
    visitor.expect(type="entry", client_msg_id="a-1")
    return visitor, staff, token, conversation_id


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_polite_stop_mid_chat_closes_the_sockets_exits_cleanly_and_the_chat_resumes(
    tmp_path: Path, make_server: list[LiveServer], loop: str, stop: signal.Signals
) -> None:
    server = embedded_server(tmp_path, env={"SERVER_EVENT_LOOP": loop, "PYTHONFAULTHANDLER": "1"})
    make_server.append(server)
    server.start()
    assert server.process is not None
    visitor, staff, token, conversation_id = chatting(server)

    started = time.monotonic()
    server.process.send_signal(stop)
    visitor.expect_closed(timeout=15)
    staff.expect_closed(timeout=15)
    code = server.process.wait(timeout=20)
    took = time.monotonic() - started
    errors = server.output()
    assert code == 0, errors[-4000:]
    assert "Traceback" not in errors, errors[-4000:]
    assert took < 15, f"stopping took {took:.1f}s"

    # A new process on the same database: the visitor resumes the same chat, nothing lost.
    server.start()
    again = RawWebsocket(server.port, "/ws/visitor/", origin=server.url)
    resumed = again.ok("hello", token=token, last_seq=0)
    assert resumed["conversation_id"] == conversation_id
    seen = [again.expect(type="entry", client_msg_id=cid)["client_msg_id"] for cid in ("v-1", "a-1")]
    assert seen == ["v-1", "a-1"]
    again.ok("message.send", client_msg_id="v-2", text="after the restart")
    again.close()


def test_main_settles_the_interpreter_before_daphne_runs() -> None:
    """main() up to daphne's argument parsing (`--help` exits there): the application loaded and
    frozen out of the collector, rarer collections with a full one once quiet, a 1 ms switch
    interval, writes going straight to the socket."""
    done = python(
        "-c",
        "import gc, sys, threading; from config import server\n"
        "try:\n    server.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "from config import write_through\n"
        "print('config.asgi' in sys.modules, gc.get_freeze_count() > 50_000, "
        "gc.get_threshold() == server.GC_THRESHOLDS, sys.getswitchinterval() == server.SWITCH_INTERVAL_SECONDS, "
        "write_through.installed(), 'quiet-collect' in [t.name for t in threading.enumerate()])",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-6:] == ["True"] * 6
