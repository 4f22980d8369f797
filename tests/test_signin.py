"""Failed sign-ins count per account and client: an attacker elsewhere cannot lock the real
person out, guessing from one client is still stopped, a locked person gets in with the password
and the code together, and no client address is stored."""

import ipaddress
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from agents import signin_guard
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "x-test-password-1"
REAL = "198.51.100.10"
ATTACKER = "203.0.113.66"


@pytest.fixture
def advisor(db: None) -> Any:
    factories.queues()
    user = factories.staff()
    TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    return user


def code(user: Any) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return pyotp.TOTP(_b32(device.bin_key)).now()


def _b32(key: bytes) -> str:
    import base64

    return base64.b32encode(key).decode()


def sign_in(client: Client, username: str, password: str, **extra: str) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password, **extra})


def fail_from(address: str, username: str, times: int) -> Client:
    client = Client(REMOTE_ADDR=address)
    for _ in range(times):
        sign_in(client, username, "wrong")
        AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=1))  # no pause
    return client


def test_failures_from_another_client_do_not_lock_out_the_real_person(advisor: Any) -> None:
    fail_from(ATTACKER, advisor.username, settings.AXES_FAILURE_LIMIT + 3)
    real = Client(REMOTE_ADDR=REAL)
    response = sign_in(real, advisor.username, PASSWORD, next="/accounts/two-factor/")
    assert response.status_code == 302 and response["Location"] == "/accounts/two-factor/"
    assert str(real.session["_auth_user_id"]) == str(advisor.pk)


def test_guessing_from_one_client_is_slowed_then_stopped(advisor: Any) -> None:
    guesser = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(settings.SIGNIN_SLOWDOWN_AFTER):
        assert sign_in(guesser, advisor.username, "wrong").status_code == 200
    # Slowed: the next try is refused before the password is looked at, and not counted.
    paused = sign_in(guesser, advisor.username, PASSWORD)
    assert paused.status_code == 429
    wait = int(paused["Retry-After"])
    assert settings.SIGNIN_SLOWDOWN_SECONDS - 3 <= wait <= settings.SIGNIN_SLOWDOWN_SECONDS
    assert f"Wait {wait} second{'s' if wait != 1 else ''},".encode() in paused.content
    assert "_auth_user_id" not in guesser.session
    assert AccessAttempt.objects.get().failures_since_start == settings.SIGNIN_SLOWDOWN_AFTER
    # After the pauses, the try that reaches the limit locks this client out of the account.
    for _ in range(settings.AXES_FAILURE_LIMIT - settings.SIGNIN_SLOWDOWN_AFTER):
        AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=1))
        sign_in(guesser, advisor.username, "wrong")
    locked = sign_in(guesser, advisor.username, PASSWORD)
    assert locked.status_code == 429
    assert b"enter your password and the code from your authenticator app together" in locked.content
    assert "_auth_user_id" not in guesser.session


def test_a_locked_person_gets_in_with_password_and_code_together(advisor: Any) -> None:
    person = fail_from(REAL, advisor.username, settings.AXES_FAILURE_LIMIT)
    assert sign_in(person, advisor.username, PASSWORD).status_code == 429
    # Wrong code, or the right code with a wrong password: refused alike, and counted.
    before = AccessAttempt.objects.get().failures_since_start
    for password, token in ((PASSWORD, "000000"), ("wrong", code(advisor))):
        refused = sign_in(person, advisor.username, password, token=token)
        assert refused.status_code == 429
        assert b"That did not match" in refused.content
        assert "_auth_user_id" not in person.session
    assert AccessAttempt.objects.get().failures_since_start == before + 2
    # A malformed code is a clear error, nothing checked.
    assert (
        b"Enter your username, your password and the six-digit code"
        in sign_in(person, advisor.username, PASSWORD, token="12ab").content
    )
    # django-otp makes the next code wait a moment after a wrong one; that moment has passed.
    TOTPDevice.objects.update(throttling_failure_timestamp=timezone.now() - timedelta(minutes=1))
    response = sign_in(person, advisor.username, PASSWORD, token=code(advisor))
    assert response.status_code == 302 and response["Location"] == "/console/"
    assert person.get("/console/").status_code == 200  # verified with the second factor
    assert not AccessAttempt.objects.exists()  # this client's failures are cleared


def test_a_guesser_with_many_clients_needs_the_code_and_the_real_person_still_gets_in(
    advisor: Any, settings: Any
) -> None:
    settings.SIGNIN_ACCOUNT_FAILURE_LIMIT = 8
    for n in range(4):
        fail_from(f"203.0.113.{n + 1}", advisor.username, 2)
    fresh = Client(REMOTE_ADDR="203.0.113.200")
    # Even the right password alone is not enough now, from any client; it is not even checked.
    asked = sign_in(fresh, advisor.username, PASSWORD)
    assert asked.status_code == 429 and b'name="token"' in asked.content
    assert b"Enter your username" not in asked.content and b"did not match" not in asked.content
    assert "_auth_user_id" not in fresh.session
    real = Client(REMOTE_ADDR=REAL)
    assert sign_in(real, advisor.username, PASSWORD, token=code(advisor))["Location"] == "/console/"


def test_a_wrong_password_never_uses_up_the_real_persons_code_attempts(advisor: Any) -> None:
    guesser = fail_from(ATTACKER, advisor.username, settings.AXES_FAILURE_LIMIT)
    for _ in range(5):
        sign_in(guesser, advisor.username, "wrong", token="123456")
    device = TOTPDevice.objects.get(user=advisor)
    assert device.throttling_failure_count == 0
    assert device.verify_is_allowed()[0]


def test_attempt_rows_hold_no_client_address(advisor: Any) -> None:
    fail_from(ATTACKER, advisor.username, 2)
    fail_from("2001:db8:1:2::99", advisor.username, 1)
    fail_from("2001:db8:1:2::aa", advisor.username, 1)  # the same /64: the same client
    rows = list(AccessAttempt.objects.values("ip_address", "failures_since_start", "post_data"))
    assert sorted(r["failures_since_start"] for r in rows) == [2, 2]
    for row in rows:
        stored = ipaddress.ip_address(row["ip_address"])
        assert stored in ipaddress.ip_network("fd00::/8")
        assert ATTACKER not in str(row) and "2001:db8" not in str(row)
        assert "wrong" not in row["post_data"]  # the password is masked


def test_the_pseudonym_changes_with_the_days_key(advisor: Any, settings: Any) -> None:
    from django.test import RequestFactory

    request = RequestFactory().get("/", REMOTE_ADDR=ATTACKER)
    today = signin_guard.client_pseudonym(request)
    assert signin_guard.client_pseudonym(request) == today
    assert signin_guard.client_pseudonym(RequestFactory().get("/", REMOTE_ADDR=REAL)) != today
    from django.core.cache import cache

    cache.delete(signin_guard._KEY_PREFIX + timezone.now().strftime("%Y-%m-%d"))  # the key is gone
    assert signin_guard.client_pseudonym(request) != today


def test_the_proxy_header_names_the_client_only_when_configured(settings: Any) -> None:
    from django.test import RequestFactory

    spoofed = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP=ATTACKER)
    assert signin_guard.client_address(spoofed) == "127.0.0.1"
    settings.SIGNIN_CLIENT_ADDRESS_HEADER = "X-Real-IP"
    assert signin_guard.client_address(spoofed) == ATTACKER
    garbage = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="not an address\x00")
    assert signin_guard.client_address(garbage) == "unknown"
