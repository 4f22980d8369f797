"""Staff session cookies end with the browser and after the idle timeout; every response carries
a restrictive Permissions-Policy."""

import time
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from agents import auth
from tests import factories
from tests.support.ws import verified_session_cookie

pytestmark = pytest.mark.django_db


def test_the_staff_session_cookie_ends_with_the_browser(db: None) -> None:
    factories.queues()
    user = factories.staff()
    client = Client()
    response = client.post("/accounts/login/", {"username": user.username, "password": "x-test-password-1"})
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie.value
    assert cookie["expires"] == "" and cookie["max-age"] == ""  # a browser-session cookie
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_an_idle_staff_page_session_is_signed_out(db: None) -> None:
    factories.queues()
    user = factories.staff()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = verified_session_cookie(user).split("=", 1)[1]
    assert client.get("/console/").status_code == 200
    session = client.session
    session[auth.LAST_ACTIVITY_KEY] = time.time() - settings.STAFF_IDLE_MINUTES * 60 - 5
    session.save()
    response = client.get("/console/")
    assert response["Location"] == "/accounts/login/?idle=1"
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "path", ["/", "/chat/", "/widget/frame/", "/accounts/login/", "/console/", "/healthz", "/no-such-page/"]
)
def test_every_response_carries_the_permissions_policy(db: None, path: str) -> None:
    policy = Client().get(path)["Permissions-Policy"]
    features = dict(item.split("=", 1) for item in policy.split(", "))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "display-capture"):
        assert features[feature] == "()", feature
    assert features["publickey-credentials-get"] == "(self)"


def test_static_files_carry_the_permissions_policy(db: None) -> None:
    response: Any = Client().get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert "camera=()" in response["Permissions-Policy"]
