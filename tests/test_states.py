"""Plain words and one truth: the visitor's page never shows the socket's developer messages, says
each state in words, keeps phone numbers left to right, and every staff page shows and sets the
person's status as the server holds it."""

import json
import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from agents.models import StaffProfile
from chat import visitor_text, widget
from chat.templatetags.visitor_tags import tel_link
from tests import factories
from tests.factories import signed_in

pytestmark = pytest.mark.django_db
HOST = "https://www.helpline.example"


def test_tel_link_is_a_tap_to_call_link_kept_left_to_right() -> None:
    assert tel_link("999") == '<a href="tel:999" dir="ltr" class="tel">999</a>'
    assert tel_link("0808 2000 247") == '<a href="tel:08082000247" dir="ltr" class="tel">0808 2000 247</a>'
    assert tel_link("+44 (0)20 <b>") == '<a href="tel:+44020" dir="ltr" class="tel">+44 (0)20 &lt;b&gt;</a>'
    assert tel_link("none") == '<bdi dir="ltr">none</bdi>'


@pytest.mark.parametrize("language", ["en", "cy", "pl", "ar"])
def test_the_chat_page_calls_999_by_a_link_and_translates_its_title(language: str) -> None:
    page = Client().get(f"/chat/?lang={language}").content.decode()
    number = settings.CHAT["EMERGENCY_NUMBER"]
    links = re.findall(rf'<a href="tel:{number}" dir="ltr" class="tel">{number}</a>', page)
    assert len(links) >= 4  # triage's danger box, nobody on shift, ended, closed, refused
    with translation.override(language):
        title = translation.gettext("Chat")
    assert f"<title>{title}</title>" in page
    assert 'id="back-to-questions"' in page and 'id="nobody"' in page
    assert "come back to chat at any time" not in page


def test_every_visitor_error_sentence_is_plain_and_translated() -> None:
    for language in ("en", "cy", "pl", "ar"):
        with translation.override(language):
            said = visitor_text.strings()
            everything = widget.strings()
        for key, sentence in said.items():
            assert everything[key] == sentence
            # No field paths, codes or validator wording.
            assert not re.search(r"[a-z]+\.[a-z_]+|_|String should|constrained", sentence), (language, key, sentence)
            if language != "en":
                with translation.override("en"):
                    assert sentence != visitor_text.strings()[key], (language, key)


@pytest.mark.parametrize(("language", "label"), [("en", "Chat"), ("cy", "Sgwrs"), ("ar", "المحادثة"), ("xx", "Chat")])
def test_the_launcher_is_named_in_the_page_language(settings: Any, language: str, label: str) -> None:
    settings.CHAT = {**settings.CHAT, "WIDGET_ALLOWED_ORIGINS": [HOST]}
    config = Client().get(f"/widget/config?lang={language}", headers={"Origin": HOST}).json()
    assert config["launcher"] == label
    assert visitor_text.launcher_label("<script>") == "Chat"


def test_the_status_menu_shows_the_servers_value_on_every_staff_page() -> None:
    factories.queues()
    user = factories.staff(role="supervisor")
    StaffProfile.objects.filter(user=user).update(availability="away")
    client = signed_in(user)
    for url in ("/console/", "/console/supervisor/", "/console/reports/", "/risk/referrals/"):
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        assert '<option value="away" selected>Away</option>' in html, url
        assert '<option value="on_shift">On shift</option>' in html, url
        assert "console/status.js" in html


def test_the_status_is_set_from_a_page_without_a_console_and_read_back() -> None:
    factories.queues()
    user = factories.staff(role="supervisor")
    client = signed_in(user)
    assert client.get("/console/status/").json()["availability"] == "off_shift"

    # As the form posts it (no script): saved, and back to the page it was set on.
    done = client.post("/console/status/", {"availability": "away", "next": "/console/reports/"})
    assert done.status_code == 302 and done["Location"] == "/console/reports/"
    assert StaffProfile.objects.get(user=user).availability == "away"
    assert '<option value="away" selected>' in client.get("/console/reports/").content.decode()

    # As the page's script posts it.
    saved = client.post("/console/status/", {"availability": "on_shift"}, headers={"Accept": "application/json"})
    assert saved.json()["availability"] == "on_shift"
    assert client.get("/console/status/").json()["availability"] == "on_shift"


@pytest.mark.parametrize(
    "body",
    [{"availability": "asleep"}, {"availability": ""}, {}, {"availability": "away", "next": "x" * 501}],
)
def test_a_bad_status_is_refused_and_changes_nothing(body: dict[str, str]) -> None:
    factories.queues()
    user = factories.staff()
    client = signed_in(user)
    refused = client.post("/console/status/", body, headers={"Accept": "application/json"})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid"
    assert client.post("/console/status/", body).status_code == 400
    assert StaffProfile.objects.get(user=user).availability == "off_shift"


def test_the_status_page_never_sends_anyone_to_another_site() -> None:
    factories.queues()
    client = signed_in(factories.staff())
    for target in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        done = client.post("/console/status/", {"availability": "away", "next": target})
        assert done.status_code == 302 and done["Location"] == "/console/", target


def test_the_status_is_for_signed_in_staff_only() -> None:
    assert Client().get("/console/status/").status_code == 302  # to sign in
    assert Client().post("/console/status/", {"availability": "on_shift"}).status_code in (302, 403)
    client = signed_in(factories.staff())
    assert client.put("/console/status/").status_code == 405
    # Without the page's CSRF token a cross-site form cannot change it.
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    assert strict.post("/console/status/", {"availability": "on_shift"}).status_code == 403


def test_the_page_config_carries_no_developer_text() -> None:
    page = Client().get("/chat/?lang=ar").content.decode()
    found = re.search(r'<script id="widget-config" type="application/json">(.*?)</script>', page, re.S)
    assert found
    config = json.loads(found[1])
    for value in config["strings"].values():
        assert "answers." not in value and "`" not in value


@pytest.mark.django_db(transaction=True)
async def test_the_default_pause_message_is_in_the_visitors_language() -> None:
    from asgiref.sync import sync_to_async

    from chat.models import ServiceStatus
    from tests.support.ws import visitor_socket

    await sync_to_async(factories.queues)()
    await ServiceStatus.objects.aupdate_or_create(pk=1, defaults={"paused": True, "message": ""})
    visitor = await visitor_socket().connect()
    hello = await visitor.ok("hello", language="cy")
    welsh = hello["service"]["message"]
    assert welsh.startswith("Allwn ni ddim dechrau sgyrsiau newydd") and "999" in welsh
    refused = await visitor.request("conversation.start", language="cy")
    assert refused["error"] == {"code": "paused", "message": welsh}
    await visitor.close()

    # A supervisor's own words are shown as written.
    await ServiceStatus.objects.aupdate_or_create(pk=1, defaults={"paused": True, "message": "Very busy just now."})
    visitor = await visitor_socket().connect()
    assert (await visitor.ok("hello", language="cy"))["service"]["message"] == "Very busy just now."
    await visitor.close()
