"""A link never controls what a visitor sees or where quick exit goes: the title and the exit
address come from staff configuration per embedding site, or from the embed tag of an allowed
origin as /widget/config received it (signed), honoured only inside a frame that only that
origin may frame. Plus: every page we serve has quick exit, and the visitor's files are no-store."""

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.staticfiles import finders
from django.core import signing
from django.test import Client

from chat import widget
from chat.models import EmbeddingSite
from tests import factories
from tests.support.ws import verified_session_cookie

pytestmark = pytest.mark.django_db
HOST = "https://www.helpline.example"
OTHER = "https://partner.example"
FRAMED = {"Sec-Fetch-Dest": "iframe"}
DEFAULT_TITLE = settings.CHAT["WIDGET_TITLE"]


@pytest.fixture(autouse=True)
def embedding(settings: object) -> None:
    settings.CHAT = {**settings.CHAT, "WIDGET_ALLOWED_ORIGINS": [HOST, OTHER]}  # type: ignore[attr-defined]


def config_of(html: str) -> dict[str, object]:
    match = re.search(r'<script id="widget-config" type="application/json">(.*?)</script>', html, re.S)
    assert match
    return json.loads(match.group(1))


def title_of(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match
    return match.group(1)


def frame_ancestors(response: object) -> str:
    match = re.search(r"frame-ancestors ([^;]*)", response["Content-Security-Policy"])  # type: ignore[index]
    assert match
    return match.group(1).strip()


def site_config(origin: str = HOST, **query: str) -> dict[str, object]:
    response = Client().get("/widget/config", query, headers={"Origin": origin})
    assert response.status_code == 200
    return response.json()


EVIL = {"exit": "https://evil.example/", "title": "Domestic abuse chat - you are being watched"}


@pytest.mark.parametrize("path", ["/chat/", "/widget/frame/", "/staying-safe/"])
def test_a_link_sets_neither_the_title_nor_the_exit(path: str) -> None:
    for headers in ({}, FRAMED):
        html = Client().get(path, EVIL, headers=headers).content.decode()
        assert "evil.example" not in html and "watched" not in html
        assert title_of(html) == DEFAULT_TITLE
        assert config_of(html)["exitUrl"] == settings.CHAT["QUICK_EXIT_URL"]


def test_the_embed_tag_of_an_allowed_site_sets_them_inside_its_frame_only() -> None:
    config = site_config(title="Ask us", exit="https://weather.example/today", lang="ar")
    assert config["title"] == "Ask us" and config["exit_url"] == "https://weather.example/today"
    strings = config["strings"]
    assert isinstance(strings, dict) and "Shift" in strings["exit_press_2"] and "Press" not in strings["exit_press_2"]
    site = str(config["site"])

    framed = Client().get("/widget/frame/", {"site": site, "lang": "en"}, headers=FRAMED)
    html = framed.content.decode()
    assert title_of(html) == "Ask us"
    assert config_of(html)["exitUrl"] == "https://weather.example/today"
    # Only that site may frame a chat that carries its settings.
    assert frame_ancestors(framed) == f"'self' {HOST}"

    # The same URL opened as a page of its own (a link) gets the defaults, framed by any allowed site.
    opened = Client().get("/widget/frame/", {"site": site})
    assert title_of(opened.content.decode()) == DEFAULT_TITLE
    assert config_of(opened.content.decode())["exitUrl"] == settings.CHAT["QUICK_EXIT_URL"]
    assert frame_ancestors(opened) == f"'self' {OTHER} {HOST}"


def test_bad_tag_values_and_forged_sites_fall_back_to_the_defaults(settings: object) -> None:
    config = site_config(title="  " + "x" * 100, exit="javascript:alert(1)")
    assert config["title"] == "x" * 60
    assert config["exit_url"] == settings.CHAT["QUICK_EXIT_URL"]  # type: ignore[attr-defined]

    def shown(site: str) -> tuple[str, object]:
        html = Client().get("/widget/frame/", {"site": site}, headers=FRAMED).content.decode()
        return title_of(html), config_of(html)["exitUrl"]

    default = (DEFAULT_TITLE, settings.CHAT["QUICK_EXIT_URL"])  # type: ignore[attr-defined]
    good = str(site_config(title="Ask us", exit="https://weather.example/")["site"])
    assert shown(good) == ("Ask us", "https://weather.example/")
    forged = signing.dumps({"o": HOST, "t": "Evil", "x": "https://evil.example/"}, salt="another.salt")
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    for bad in (forged, tampered, "x" * 3000, "not-a-token", json.dumps({"o": HOST})):
        assert shown(bad) == default
    # An origin the deployment no longer allows loses its settings at once.
    settings.CHAT = {**settings.CHAT, "WIDGET_ALLOWED_ORIGINS": [OTHER]}  # type: ignore[attr-defined]
    assert shown(good) == default
    refused = Client().get("/widget/config", {"title": "x"}, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and "site" not in refused.json()


def test_staff_configuration_comes_first_and_applies_at_once() -> None:
    site = str(site_config(title="From the tag", exit="https://tag.example/")["site"])
    EmbeddingSite.objects.create(origin=HOST, title="Garden club", exit_url="https://weather.example/staff")
    assert site_config(title="From the tag")["title"] == "Garden club"
    html = Client().get("/widget/frame/", {"site": site}, headers=FRAMED).content.decode()
    assert title_of(html) == "Garden club"
    assert config_of(html)["exitUrl"] == "https://weather.example/staff"
    # Fields left empty fall back to the tag, then the defaults.
    EmbeddingSite.objects.filter(origin=HOST).update(title="", exit_url="")
    assert widget.presentation(HOST, tag_title="", tag_exit="") == (DEFAULT_TITLE, settings.CHAT["QUICK_EXIT_URL"])
    assert widget.presentation(HOST, tag_title="Tag", tag_exit="https://t.example/") == ("Tag", "https://t.example/")


def test_staff_add_an_embedding_site_in_the_admin_and_bad_values_are_refused() -> None:
    supervisor = factories.staff(role="supervisor", is_staff_user=True)
    client = Client()
    client.cookies["sessionid"] = verified_session_cookie(supervisor).split("=", 1)[1]
    add = "/admin/chat/embeddingsite/add/"
    for origin, exit_url, error in (
        ("https://evil.example", "", b"is not in WIDGET_ALLOWED_ORIGINS"),
        ("www.helpline.example", "", b"An origin is a scheme and a host"),
        ("https://www.helpline.example/chat", "", b"with no path"),
        ("https://www.helpline.example", "javascript:alert(1)", b"Enter a valid URL"),
    ):
        refused = client.post(add, {"origin": origin, "title": "Chat", "exit_url": exit_url})
        assert refused.status_code == 200 and error in refused.content, (origin, exit_url)
    assert not EmbeddingSite.objects.exists()
    added = client.post(
        add, {"origin": "HTTPS://WWW.Helpline.example/", "title": "Chat", "exit_url": "https://w.example/"}
    )
    assert added.status_code == 302
    site = EmbeddingSite.objects.get()
    assert site.origin == HOST
    assert LogEntry.objects.filter(object_id=str(site.pk), action_flag=ADDITION, user=supervisor).exists()


def test_every_page_we_serve_has_quick_exit_and_a_neutral_title() -> None:
    for path in ("/chat/", "/staying-safe/"):
        html = Client().get(path, {"lang": "pl"}).content.decode()
        assert 'id="quick-exit"' in html and 'id="exit-count"' in html
        assert title_of(html) == "Rozmowa"  # the neutral default title, in the visitor's language
    safety = Client().get("/staying-safe/").content.decode()
    assert "visitor/exit-first.js" in safety
    assert "What quick exit cannot erase" in safety
    # In the chat, the staying-safe page opens inside it, with no link to a tab of its own.
    chat = Client().get("/widget/frame/").content.decode()
    assert 'id="safety"' in chat and 'target="_blank"' not in chat and "/staying-safe/" not in chat


@pytest.mark.parametrize(
    "path",
    [
        "/static/visitor/chat.css",
        "/static/visitor/chat.js",
        "/static/visitor/state.js",
        "/static/visitor/conversation.js",
        "/static/visitor/quickexit.js",
        "/static/visitor/exit-first.js",
        # The protocol socket the consoles share, kept in `agents` and served with the visitor's files.
        "/static/visitor/protocol.js",
    ],
)
def test_the_visitor_files_are_never_cached(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_the_chat_page_asks_at_once_for_every_module_it_imports() -> None:
    """The page's modules import one another; preloaded, they all come in one round of requests,
    and each is one of the visitor's files (never cached) wherever its app keeps it."""
    imported: set[str] = set()
    waiting = ["chat.js"]
    while waiting:
        name = waiting.pop()
        found = finders.find(f"visitor/{name}")
        assert found, f"visitor/{name} is imported but not served"
        for module in re.findall(r'^import (?:.* from )?"\./([\w-]+\.js)";$', Path(found).read_text(), re.M):
            if module not in imported:
                imported.add(module)
                waiting.append(module)
    html = Client().get("/chat/").content.decode()
    preloaded = re.findall(r'<link rel="modulepreload" href="/static/visitor/([\w-]+\.js)">', html)
    assert sorted(preloaded) == sorted(imported)
    assert "protocol.js" in imported and len(imported) > 10


def test_the_example_proxy_never_lets_the_browser_cache_the_visitor_files() -> None:
    """nginx serves /static/ itself in production, with a long expiry for the staff's files."""
    conf = (Path(__file__).resolve().parents[1] / "deploy" / "nginx.conf").read_text()
    rule = re.search(r"location ~ \^/static/\(([\w|]+)\)/\(\.\+\)\$ \{([^}]*)\}", conf)
    assert rule, "no location for the visitor's static files"
    assert set(rule[1].split("|")) == {"visitor", "widget"}
    assert 'add_header Cache-Control "no-store" always;' in rule[2]
    assert "expires" not in rule[2]
