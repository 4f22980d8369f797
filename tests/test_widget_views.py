"""The widget's HTTP side: who may embed it, what a host page may set, and that nothing is kept.
Plus the admin pages where staff edit what visitors see, with every change in the change log."""

import json
import re

import pytest
from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.test import Client
from django.utils import translation

from chat.setup_models import DirectoryEntry, OpeningHours, TriageQuestion
from tests import factories
from tests.support.ws import verified_session_cookie

pytestmark = pytest.mark.django_db
HOST = "https://www.helpline.example"


@pytest.fixture(autouse=True)
def embedding(settings: object) -> None:
    settings.CHAT = {**settings.CHAT, "WIDGET_ALLOWED_ORIGINS": [HOST]}  # type: ignore[attr-defined]


def config_of(html: str) -> dict[str, object]:
    match = re.search(r'<script id="widget-config" type="application/json">(.*?)</script>', html, re.S)
    assert match
    return json.loads(match.group(1))


def test_config_answers_only_allowed_sites() -> None:
    client = Client()
    allowed = client.get("/widget/config", headers={"Origin": HOST})
    assert allowed.status_code == 200
    assert allowed["Access-Control-Allow-Origin"] == HOST
    assert "Origin" in allowed["Vary"]
    assert allowed.json()["allowed"] is True
    for origin in ("https://evil.example", "null", HOST + ".evil.example", ""):
        refused = client.get("/widget/config", headers={"Origin": origin} if origin else {})
        assert refused.status_code == 403
        assert "Access-Control-Allow-Origin" not in refused
        assert refused.json() == {"allowed": False, "error": "origin_not_allowed"}


def test_the_frame_may_be_framed_only_by_allowed_sites_and_keeps_nothing() -> None:
    response = Client().get("/widget/frame/")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert re.search(r"frame-ancestors 'self' https://www\.helpline\.example(;|$)", policy)
    assert "X-Frame-Options" not in response
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies
    # The page of its own stays unframeable.
    page = Client().get("/chat/")
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    assert page["X-Frame-Options"] == "DENY"


def test_host_settings_are_checked() -> None:
    response = Client().get(
        "/widget/frame/",
        {
            "lang": "ar",
            "title": "<script>alert(1)</script>" + "x" * 100,
            "accent": "red;} body{display:none",
            "exit": "javascript:alert(1)",
        },
    )
    html = response.content.decode()
    assert '<html lang="ar" dir="rtl">' in html
    assert "alert(1)" not in html  # a link never sets the title (see test_embedding_sites.py)
    with translation.override("ar"):  # the deployment's own title, in the visitor's language
        assert f"<title>{translation.gettext(settings.CHAT['WIDGET_TITLE'])}</title>" in html
    assert "theme.css" not in html
    config = config_of(html)
    assert config["exitUrl"] == settings.CHAT["QUICK_EXIT_URL"]
    assert config["language"] == "ar"

    good = (
        Client()
        .get("/widget/frame/", {"lang": "cy", "title": "Weather", "accent": "#2a5d3c", "exit": "https://example.org/x"})
        .content.decode()
    )
    assert '<html lang="cy" dir="ltr">' in good
    assert "<title>Weather</title>" not in good
    assert "/widget/theme.css?accent=%232a5d3c" in good
    assert config_of(good)["exitUrl"] == settings.CHAT["QUICK_EXIT_URL"]
    unknown = Client().get("/widget/frame/", {"lang": "xx"}).content.decode()
    assert '<html lang="en" dir="ltr">' in unknown


def test_theme_script_and_safety_page() -> None:
    client = Client()
    assert client.get("/widget/theme.css", {"accent": "#aabbcc"}).content == b":root { --accent: #aabbcc; }\n"
    assert client.get("/widget/theme.css", {"accent": "url(x)"}).content == b""
    script = client.get("/widget.js")
    assert script["Content-Type"].startswith("text/javascript")
    assert "no-store" in script["Cache-Control"]
    assert b"/widget/config" in script.content
    safety = client.get("/staying-safe/", {"lang": "pl"})
    assert safety.status_code == 200 and not safety.cookies
    assert '<html lang="pl"' in safety.content.decode()


def test_staff_edit_the_flow_directory_and_hours_in_the_admin_and_it_is_logged() -> None:
    factories.queues()
    supervisor = factories.staff(role="supervisor", is_staff_user=True)
    client = Client()
    client.cookies["sessionid"] = verified_session_cookie(supervisor).split("=", 1)[1]

    question = TriageQuestion.objects.get(key="about")
    options = list(question.options.all())
    form = {
        "prompt": "Who are you contacting us about?",
        "help_text": "",
        "key": "about",
        "role": "about",
        "order": "20",
        "required": "on",
        "active": "on",
        "translations": "{}",
        "options-TOTAL_FORMS": str(len(options)),
        "options-INITIAL_FORMS": str(len(options)),
        "options-MIN_NUM_FORMS": "0",
        "options-MAX_NUM_FORMS": "1000",
    }
    for i, option in enumerate(options):
        form.update(
            {
                f"options-{i}-id": str(option.pk),
                f"options-{i}-question": str(question.pk),
                f"options-{i}-order": str(option.order),
                f"options-{i}-value": option.value,
                f"options-{i}-label": option.label,
                f"options-{i}-translations": "{}",
            }
        )
    saved = client.post(f"/admin/chat/triagequestion/{question.pk}/change/", form)
    assert saved.status_code == 302, saved.content[:2000]
    question.refresh_from_db()
    assert question.prompt == "Who are you contacting us about?"
    assert LogEntry.objects.filter(object_id=str(question.pk), action_flag=CHANGE, user=supervisor).exists()

    refused = client.post(
        "/admin/chat/directoryentry/add/",
        {"name": "A refuge", "kind": "refuge", "address": "1 Secret Road", "contact_route": "By phone", "order": "0"},
    )
    assert refused.status_code == 200
    assert b"never given out" in refused.content
    assert not DirectoryEntry.objects.exists()

    added = client.post("/admin/chat/openinghours/add/", {"weekday": "0", "opens": "20:00", "closes": "08:00"})
    assert added.status_code == 200 and b"Closes after it opens" in added.content
    added = client.post("/admin/chat/openinghours/add/", {"weekday": "0", "opens": "20:00", "closes": "00:00"})
    assert added.status_code == 302
    hours = OpeningHours.objects.get(opens="20:00")
    assert LogEntry.objects.filter(object_id=str(hours.pk), action_flag=ADDITION).exists()


def test_an_advisor_cannot_edit_what_visitors_see() -> None:
    factories.queues()
    advisor = factories.staff(role="advisor", is_staff_user=False)
    client = Client()
    client.cookies["sessionid"] = verified_session_cookie(advisor).split("=", 1)[1]
    assert client.get("/admin/chat/triagequestion/").status_code in (302, 403)


def test_the_demo_host_page_is_there_only_outside_production(settings: object) -> None:
    page = Client().get("/widget/demo/")
    assert page.status_code == 200 and b'src="/widget.js"' in page.content
    settings.PRODUCTION = True  # type: ignore[attr-defined]
    assert Client().get("/widget/demo/").status_code == 404
