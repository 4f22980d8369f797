"""Who may use the staff socket and pages: two-factor, idle timeout, sign-out, lockout,
deactivation, roles; and the security headers and production checks."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from agents import auth
from agents.models import CannedResponse
from agents.services import staff_access_revoked
from config.asgi import application
from tests import factories
from tests.support.live import ROOT
from tests.support.ws import ORIGIN, ProtocolClient, advisor_on_shift, queued_visitor, verified_session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def console_socket(cookie: str) -> ProtocolClient:
    headers = [(b"origin", ORIGIN), (b"cookie", cookie.encode())]
    return ProtocolClient(WebsocketCommunicator(application, "/ws/console/", headers=headers))


def unverified_cookie(user: object) -> str:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def test_a_session_without_second_factor_is_refused(setup_queues: None) -> None:
    user = await sync_to_async(factories.staff)()
    client = await console_socket(await sync_to_async(unverified_cookie)(user)).connect()
    assert await client.expect_closed() == 4003


async def test_an_idle_session_is_refused(setup_queues: None) -> None:
    user = await sync_to_async(factories.staff)()
    cookie = await sync_to_async(verified_session_cookie)(user)

    @sync_to_async
    def make_idle() -> None:
        from django.contrib.sessions.backends.db import SessionStore

        session = SessionStore(session_key=cookie.split("=", 1)[1])
        session[auth.LAST_ACTIVITY_KEY] = time.time() - settings.STAFF_IDLE_MINUTES * 60 - 5
        session.save()

    await make_idle()
    client = await console_socket(cookie).connect()
    assert await client.expect_closed() == 4003


async def test_revoking_access_closes_open_sockets_at_once(setup_queues: None) -> None:
    user = await sync_to_async(factories.staff)()
    first = await advisor_on_shift(user)
    second = await advisor_on_shift(user)
    await sync_to_async(staff_access_revoked)(user_id=user.pk, reason="deactivated")
    assert await first.expect_closed() == 4010
    assert await second.expect_closed() == 4010


async def test_signing_out_closes_sockets_and_the_session(setup_queues: None) -> None:
    user = await sync_to_async(factories.staff)()
    cookie = await sync_to_async(verified_session_cookie)(user)
    socket = await console_socket(cookie).connect()
    await socket.ok("hello")

    @sync_to_async
    def sign_out() -> int:
        client = Client()
        client.cookies[settings.SESSION_COOKIE_NAME] = cookie.split("=", 1)[1]
        return client.post("/accounts/logout/").status_code

    assert await sign_out() == 302
    assert await socket.expect_closed() == 4010
    again = await console_socket(cookie).connect()
    assert await again.expect_closed() == 4003


def _delete_device(user: Any) -> None:
    TOTPDevice.objects.filter(user=user).delete()


def _deactivate_by_update(user: Any) -> None:
    # An UPDATE sends no signal: only the re-check can notice.
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)


def _remove_staff_profile(user: Any) -> None:
    from agents.models import StaffProfile

    StaffProfile.objects.filter(user_id=user.pk).delete()


@pytest.mark.parametrize("revoke", [_delete_device, _deactivate_by_update, _remove_staff_profile])
async def test_the_periodic_recheck_closes_a_socket_that_lost_access(
    setup_queues: None, monkeypatch: pytest.MonkeyPatch, revoke: Any
) -> None:
    from chat.consumers import staff as consumers

    monkeypatch.setattr(consumers, "HEARTBEAT_WRITE_INTERVAL", 0.0)
    user = await sync_to_async(factories.staff)()
    socket = await advisor_on_shift(user)
    await sync_to_async(revoke)(user)
    await socket.send({"type": "ping"})
    assert await socket.expect_closed() == 4010


def _session_with(persistent_id: Any) -> dict[str, Any]:
    from django_otp import DEVICE_ID_SESSION_KEY

    return {DEVICE_ID_SESSION_KEY: persistent_id, auth.LAST_ACTIVITY_KEY: time.time()}


def test_the_recheck_allows_only_the_users_own_confirmed_device(db: None) -> None:
    factories.queues()
    user, other = factories.staff(), factories.staff()
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    theirs = TOTPDevice.objects.create(user=other, name="phone", confirmed=True)
    assert auth.staff_session_allows(_session_with(device.persistent_id), user.pk)
    assert not auth.staff_session_allows(_session_with(theirs.persistent_id), user.pk)
    TOTPDevice.objects.filter(pk=device.pk).update(confirmed=False)
    assert not auth.staff_session_allows(_session_with(device.persistent_id), user.pk)


@pytest.mark.parametrize(
    "persistent_id",
    [
        None,
        "",
        7,
        "otp_totp.totpdevice",
        "otp_totp.totpdevice/x",
        "otp_totp.nosuchdevice/1",
        "auth.user/1",
        "no_such_app.device/1",
        "otp_totp.totpdevice/999999",
    ],
)
def test_the_recheck_refuses_a_session_naming_no_device(db: None, persistent_id: Any) -> None:
    factories.queues()
    user = factories.staff()
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    assert not auth.staff_session_allows(_session_with(persistent_id), user.pk)


def test_the_recheck_is_one_query(db: None, django_assert_num_queries: Any) -> None:
    factories.queues()
    user = factories.staff()
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    session = _session_with(device.persistent_id)
    with django_assert_num_queries(1):
        assert auth.staff_session_allows(session, user.pk)


async def test_the_periodic_recheck_marks_the_connection_live(setup_queues: None, monkeypatch) -> None:
    from agents.models import StaffConnection
    from chat.consumers import staff as consumers

    monkeypatch.setattr(consumers, "HEARTBEAT_WRITE_INTERVAL", 0.0)
    user = await sync_to_async(factories.staff)()
    socket = await advisor_on_shift(user)
    connections = StaffConnection.objects.filter(profile__user_id=user.pk)
    long_ago = timezone.now() - timedelta(hours=1)
    await connections.aupdate(seen_at=long_ago)
    await socket.send({"type": "ping"})
    await socket.expect("pong")
    assert [c.seen_at > long_ago async for c in connections] == [True]


async def test_roles_gate_supervisor_requests(setup_queues: None) -> None:
    advisor_user = await sync_to_async(factories.staff)()
    other_user = await sync_to_async(factories.staff)()
    supervisor_user = await sync_to_async(factories.staff)(role="supervisor")
    advisor = await advisor_on_shift(advisor_user)
    other = await advisor_on_shift(other_user)
    supervisor = await advisor_on_shift(supervisor_user)
    visitor, _, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)

    assert await advisor.error("conversations.list") == "forbidden"
    code = await advisor.error("conversation.reassign", conversation_id=conversation_id, to_user_id=other_user.pk)
    assert code == "forbidden"

    live = (await supervisor.ok("conversations.list"))["conversations"]
    assert [c["conversation_id"] for c in live] == [conversation_id]
    assert not any(key in str(live).lower() for key in ("ip", "address", "remote"))
    await supervisor.ok(
        "conversation.reassign", conversation_id=conversation_id, to_user_id=other_user.pk, note="Needs Polish"
    )
    await advisor.expect("conversation.left", conversation_id=conversation_id)
    await other.expect("entry", kind="note", text="Needs Polish")
    told = await visitor.expect("entry", event="transferred")
    assert other_user.staff.display_name in told["text"]
    staff = (await supervisor.ok("staff.list"))["staff"]
    loads = {s["user_id"]: s["load"] for s in staff}
    assert loads[other_user.pk] == 1 and loads[advisor_user.pk] == 0
    for client in (advisor, other, supervisor, visitor):
        await client.close()


async def test_canned_responses_are_the_team_and_your_own(setup_queues: None) -> None:
    user = await sync_to_async(factories.staff)()
    someone = await sync_to_async(factories.staff)()
    await CannedResponse.objects.acreate(owner=None, shortcut="hello", title="Greeting", text="Hello")
    await CannedResponse.objects.acreate(owner=user, shortcut="mine", title="Mine", text="Mine")
    await CannedResponse.objects.acreate(owner=someone, shortcut="theirs", title="Theirs", text="Theirs")
    advisor = await advisor_on_shift(user)
    responses = (await advisor.ok("canned.list"))["responses"]
    assert {(r["shortcut"], r["scope"]) for r in responses} == {("hello", "team"), ("mine", "mine")}
    await advisor.close()


def test_repeated_failed_sign_ins_lock_the_account(db: None, settings: Any) -> None:
    settings.SIGNIN_SLOWDOWN_AFTER = settings.AXES_FAILURE_LIMIT  # no pauses here (tests/test_signin.py)
    factories.queues()
    user = factories.staff()
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/accounts/login/", {"username": user.username, "password": "wrong"})
        assert response.status_code == 200
    # The attempt that reaches the limit locks this client out; the right password alone no
    # longer helps (with the authenticator code too it does: tests/test_signin.py).
    assert client.post("/accounts/login/", {"username": user.username, "password": "wrong"}).status_code == 429
    locked = client.post("/accounts/login/", {"username": user.username, "password": "x-test-password-1"})
    assert locked.status_code == 429
    assert b"too many failed sign-ins to this account" in locked.content
    assert "_auth_user_id" not in client.session
    from axes.models import AccessAttempt

    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) != ["127.0.0.1"]


def test_console_pages_need_a_verified_staff_session(db: None) -> None:
    factories.queues()
    user = factories.staff()
    client = Client()
    assert client.get("/console/")["Location"].startswith("/accounts/login/")
    client.force_login(user)
    assert client.get("/console/")["Location"] == "/accounts/two-factor/"
    assert client.get("/console/supervisor/")["Location"] == "/accounts/two-factor/"
    outsider = get_user_model().objects.create_user(username="outsider", password="x-outsider-pw-1")
    other = Client()
    other.force_login(outsider)
    assert other.get("/console/").status_code == 403
    verified = Client()
    verified.cookies[settings.SESSION_COOKIE_NAME] = verified_session_cookie(user).split("=", 1)[1]
    page = verified.get("/console/")
    assert page.status_code == 200
    assert verified.get("/console/supervisor/").status_code == 403
    csp = page["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page["X-Frame-Options"] == "DENY"
    assert page["X-Content-Type-Options"] == "nosniff"
    assert page["Referrer-Policy"] == "same-origin"
    assert "no-store" in page["Cache-Control"] or "no-cache" in page["Cache-Control"]


def test_production_settings_pass_the_deploy_checks(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DJANGO_PRODUCTION": "1",
        "DJANGO_SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-value-0123456789",
        "DJANGO_ALLOWED_HOSTS": "chat.example.org",
        "SIGNING_KEY_DIR": str(tmp_path / "keys"),
        "RISK_RETURN_PHRASE_KEY": "r" * 20 + "-a-long-random-return-phrase-key-0123456789",
    }
    (tmp_path / "keys").mkdir(mode=0o700)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
