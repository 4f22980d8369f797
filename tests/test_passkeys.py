"""Passkeys beside the authenticator app: the WebAuthn ceremonies' first steps, who may start
them, the choice on the two-factor page, and the staff page that lists and removes them. The
whole ceremony with an authenticator is in tests/browser/test_passkeys.py."""

import hashlib
import json
from typing import Any

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp_webauthn.models import WebAuthnCredential

from agents import auth
from tests import factories
from tests.support.ws import verified_session_cookie

pytestmark = pytest.mark.django_db

BEGIN_REGISTRATION = "/accounts/webauthn/registration/begin/"
BEGIN_AUTHENTICATION = "/accounts/webauthn/authentication/begin/"


@pytest.fixture
def advisor(db: None) -> Any:
    factories.queues()
    return factories.staff()


def verified(user: Any) -> Client:
    client = Client()
    client.cookies["sessionid"] = verified_session_cookie(user).split("=", 1)[1]
    return client


def password_only(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def passkey(user: Any, name: str = "Work phone", raw_id: bytes = b"credential-1") -> WebAuthnCredential:
    return WebAuthnCredential.objects.create(
        user=user,
        name=name,
        confirmed=True,
        credential_id=raw_id,
        credential_id_sha256=hashlib.sha256(raw_id).hexdigest(),
        public_key=b"\xa5\x01\x02\x03&",
        sign_count=0,
    )


def test_a_verified_staff_member_can_start_adding_a_passkey(advisor: Any) -> None:
    verified_session_cookie(advisor)  # enrols the authenticator app
    response = verified(advisor).post(BEGIN_REGISTRATION)
    assert response.status_code == 200, response.content
    options = response.json()
    assert options["rp"] == {"id": "testserver", "name": "Helpline chat"}
    assert options["user"]["name"] == advisor.username
    assert len(options["challenge"]) >= 22


def test_adding_a_passkey_needs_a_verified_session(advisor: Any) -> None:
    verified_session_cookie(advisor)  # the account has the authenticator app
    response = password_only(advisor).post(BEGIN_REGISTRATION)
    assert response.status_code == 403
    assert "verify your identity first" in response.json()["detail"]
    assert Client().post(BEGIN_REGISTRATION).status_code in (401, 403)


def test_a_passkey_never_signs_in_without_the_password(advisor: Any) -> None:
    passkey(advisor)
    response = Client().post(BEGIN_AUTHENTICATION)
    assert response.status_code >= 400 and response.status_code < 500
    assert "_auth_user_id" not in Client().session


def test_after_the_password_the_passkey_is_offered_as_the_second_factor(advisor: Any) -> None:
    own = passkey(advisor)
    verified_session_cookie(advisor)
    client = password_only(advisor)
    page = client.get("/accounts/two-factor/").content.decode()
    assert 'id="passkey-verification-button"' in page and "Use a passkey" in page
    assert 'id="otp_webauthn_config"' in page and "otp_webauthn_auth.js" in page
    assert "Or enter the code your authenticator app shows now." in page
    options = client.post(BEGIN_AUTHENTICATION).json()
    assert options["rpId"] == "testserver"
    assert [c["id"] for c in options["allowCredentials"]] == ["Y3JlZGVudGlhbC0x"]  # base64url(b"credential-1")
    assert own.persistent_id  # the same device model the session check reads


def test_without_a_passkey_only_the_code_is_asked_for(advisor: Any) -> None:
    verified_session_cookie(advisor)
    page = password_only(advisor).get("/accounts/two-factor/").content.decode()
    assert "passkey-verification-button" not in page and "otp_webauthn_auth.js" not in page


def test_a_session_verified_by_a_passkey_passes_the_staff_checks(advisor: Any) -> None:
    device = passkey(advisor)
    client = password_only(advisor)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    assert client.get("/console/").status_code == 200
    assert auth.staff_session_allows(client.session, advisor.pk)
    device.confirmed = False
    device.save()
    assert not auth.staff_session_allows(client.session, advisor.pk)


def test_the_passkeys_page_lists_and_removes_only_your_own(advisor: Any) -> None:
    other = factories.staff()
    mine, theirs = passkey(advisor, "Security key"), passkey(other, "Their phone", b"credential-2")
    client = verified(advisor)
    page = client.get("/accounts/passkeys/").content.decode()
    assert "Security key" in page and "Their phone" not in page
    assert 'id="passkey-register-button"' in page and "otp_webauthn_register.js" in page
    assert client.post(f"/accounts/passkeys/{theirs.pk}/remove/").status_code == 404
    assert client.get(f"/accounts/passkeys/{mine.pk}/remove/").status_code == 405
    removed = client.post(f"/accounts/passkeys/{mine.pk}/remove/", follow=True)
    assert "Removed the passkey “Security key”." in removed.content.decode()
    assert not WebAuthnCredential.objects.filter(pk=mine.pk).exists()
    assert WebAuthnCredential.objects.filter(pk=theirs.pk).exists()
    assert Client().get("/accounts/passkeys/")["Location"].startswith("/accounts/login/")


def test_the_passkey_that_verified_this_sign_in_is_not_removed(advisor: Any) -> None:
    device = passkey(advisor)
    client = password_only(advisor)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    page = client.post(f"/accounts/passkeys/{device.pk}/remove/", follow=True).content.decode()
    assert "verified the sign-in you are using now" in page
    assert WebAuthnCredential.objects.filter(pk=device.pk).exists()


def test_the_ceremony_endpoints_refuse_malformed_bodies(advisor: Any) -> None:
    passkey(advisor)
    client = password_only(advisor)
    client.post(BEGIN_AUTHENTICATION)
    for body in (b"not json", json.dumps({"id": 1}).encode(), b"[]"):
        response = client.post("/accounts/webauthn/authentication/complete/", body, content_type="application/json")
        assert 400 <= response.status_code < 500, (body, response.status_code)
    assert "otp_device_id" not in client.session


def test_a_passkey_without_a_name_is_shown_by_when_it_was_added(advisor: Any) -> None:
    unnamed = passkey(advisor, name="")
    page = verified(advisor).get("/accounts/passkeys/").content.decode()
    assert "Passkey added " in page and "not used yet" in page
    assert str(unnamed.created_at.year) in page
