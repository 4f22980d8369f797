"""What is left after a visitor leaves: no tab of ours (our pages open inside the chat, tabs it
opens are closed by quick exit), what Back shows after each way a page can leave (measured in
Chromium), a confirmed "End chat" that clears the screen, quick exit on every page we serve, no
title or exit address set by a link, and no file of ours in the browser's cache."""

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_quick_exit import (
    VIEW_IDS,
    VIEWS,
    answer_first_options,
    lone_shifts,
    open_widget,
    sites,
    to_the_queue,
)
from tests.browser.test_widget import PHONE, frame_of, no_violations
from tests.support.browser import screenshot
from tests.support.host import HostSite
from tests.support.live import LiveServer

__all__ = ["sites"]  # the module's product and helpline site
ELSEWHERE = re.compile(r"^https://(www\.openstreetmap\.org|services\.example)/")


def other_sites(route: Any) -> None:
    """Stand-ins for the map and a service's website (tests reach no real site)."""
    title = "Search results - OpenStreetMap" if "openstreetmap" in route.request.url else "Riverside Advice Centre"
    route.fulfill(content_type="text/html", body=f"<!doctype html><title>{title}</title><h1>{title}</h1>")


def size_of(viewport: Any) -> str:
    return "360" if viewport == PHONE else "desktop"


@pytest.mark.parametrize(("viewport", "language"), VIEWS, ids=VIEW_IDS)
def test_no_tab_of_ours_survives_quick_exit(
    sites: tuple[LiveServer, HostSite], browser: Any, viewport: Any, language: str
) -> None:
    server, host = sites
    server.shell(
        "from chat.models import DirectoryEntry; "
        "DirectoryEntry.objects.filter(name='Riverside Advice Centre').update(website='https://services.example/riverside')"
    )
    size = size_of(viewport)
    context = browser.new_context(viewport=viewport)
    context.route(ELSEWHERE, other_sites)
    page = context.new_page()
    frame = open_widget(page, host, language)

    # "Staying safe online" opens inside the chat, not in a tab; Back returns to the notice.
    frame.locator("#show-safety").click()
    expect(frame.locator("#safety-heading")).to_be_focused()
    expect(frame.locator("#safety")).to_contain_text("Shift")
    assert context.pages == [page]
    no_violations(frame, f"staying safe ({language})")
    screenshot(page, f"exit-staying-safe-inside-{language}-{size}")
    frame.locator("#safety-back").click()
    expect(frame.locator("#show-safety")).to_be_focused()

    frame.locator("#notice-ok").click()
    frame.locator("#questions fieldset").first.wait_for()
    answer_first_options(frame)
    frame.locator("#questions input[value=wales]").check()
    frame.locator("#triage-form button[type=submit]").click()
    service = frame.locator("#options .service", has_text="Riverside Advice Centre")
    links = service.locator("button.elsewhere")
    expect(links).to_have_count(2)  # the map and the website, each saying it opens another site
    expect(service.locator(".elsewhere-hint").first).to_be_visible()
    if language == "en":
        expect(service.locator(".elsewhere-hint").first).to_have_text(
            "Opens another website in a new tab. Leave this site closes that tab too."
        )
    no_violations(frame, f"directory with other sites ({language})")
    screenshot(page, f"exit-directory-elsewhere-{language}-{size}")

    opened = []
    for index in range(2):
        with context.expect_page() as popup:
            links.nth(index).click()
        tab = popup.value
        tab.wait_for_url(ELSEWHERE)
        assert tab.evaluate("document.referrer") == ""
        # The tab stays linked to the chat (so quick exit can close it), yet cannot navigate it.
        tried = "() => { try { opener.location.href = 'https://services.example/evil'; return 'navigated'; }"
        assert tab.evaluate(tried + " catch (e) { return 'refused'; } }") == "refused"
        opened.append(tab)
    assert len(context.pages) == 3

    if language == "en":
        page.locator("#search").click()  # from the host page: it asks the frame to close them
        lone_shifts(page, 3)
    else:
        frame.locator("#quick-exit").click()  # from inside the frame
    expect(page).to_have_url(f"{host.url}/weather")
    for tab in opened:
        if not tab.is_closed():
            tab.wait_for_event("close", timeout=5000)
    assert context.pages == [page]
    context.close()


def test_what_back_shows_after_each_way_of_leaving(sites: tuple[LiveServer, HostSite], browser: Any) -> None:
    """Measured in Chromium. Only location.replace keeps the helpline's page out of Back; a frame
    that navigates, or history.pushState, puts it back. The widget only ever replaces."""
    server, host = sites
    exit_url = f"{host.url}/weather"

    def back_after(leave: str, before_leaving: str = "") -> tuple[str, int]:
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{host.url}/before")
        page.goto(f"{host.url}/")
        page.locator("[data-helpline-chat] .launcher").click()
        frame_of(page)
        if before_leaving:
            page.evaluate(before_leaving)
            page.wait_for_timeout(500)
        entries = page.evaluate("history.length")
        page.evaluate(leave, exit_url)
        page.wait_for_url(exit_url)
        added = page.evaluate("history.length") - entries
        page.go_back()
        path = page.url.removeprefix(host.url)
        context.close()
        return path, added

    frame_navigates = (
        "() => { const f = document.querySelector('[data-helpline-chat]').shadowRoot.querySelector('iframe');"
        " f.src = f.src + '&again=1'; }"
    )
    assert back_after("url => location.assign(url)") == ("/", 1)  # the helpline page with the chat
    assert back_after("url => location.replace(url)") == ("/before", 0)  # the page before it
    assert back_after("url => { history.pushState({}, '', '/?p'); location.replace(url) }") == ("/", 1)
    assert back_after("url => location.replace(url)", frame_navigates) == ("/", 0)

    # The widget itself: the staying-safe screen, a language switch (the frame replaces itself)
    # and quick exit add no entry, and Back shows the page before the helpline's.
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{host.url}/before")
    page.goto(f"{host.url}/")
    entries = page.evaluate("history.length")
    page.locator("[data-helpline-chat] .launcher").click()
    frame = frame_of(page)
    frame.locator("#show-safety").click()
    frame.locator("#safety-back").click()
    frame.locator("#ui-language").select_option("pl")
    frame = page.frame_locator("iframe")
    expect(frame.locator("html")).to_have_attribute("lang", "pl")
    assert page.evaluate("history.length") == entries
    frame.locator("#notice-heading").click()
    lone_shifts(page, 3)
    expect(page).to_have_url(exit_url)
    assert page.evaluate("history.length") == entries
    page.go_back()
    expect(page).to_have_url(f"{host.url}/before")
    expect(page).to_have_title("Community news")
    page.go_forward()
    expect(page).to_have_url(exit_url)

    # The chat as a page of its own: replaced too.
    page.goto(f"{server.url}/?from=1")
    page.goto(f"{server.url}/chat/")
    page.locator("#notice-ok").wait_for()
    page.locator("#quick-exit").click()
    page.wait_for_url(re.compile(r"\?left=1$"))
    page.go_back()
    assert page.url == f"{server.url}/?from=1"
    context.close()


@pytest.mark.parametrize(("viewport", "language"), VIEWS, ids=VIEW_IDS)
def test_end_chat_asks_first_then_clears_the_screen(
    sites: tuple[LiveServer, HostSite], browser: Any, viewport: Any, language: str
) -> None:
    _server, host = sites
    size = size_of(viewport)
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    frame = open_widget(page, host, language)
    to_the_queue(frame)
    transcript = frame.locator("#transcript li")
    message = frame.locator("#message")
    for text in ("first private thing", "second private thing"):
        message.fill(text)
        message.press("Enter")
    expect(frame.locator("#transcript")).to_contain_text("second private thing")

    # One tap clears the screen; the chat goes on.
    frame.locator("#clear-screen").click()
    expect(transcript).to_have_count(0)
    expect(message).to_be_focused()
    message.fill("third private thing")
    message.press("Enter")
    expect(frame.locator("#transcript")).to_contain_text("third private thing")
    assert "first private thing" not in frame.locator("body").inner_text()

    frame.locator("#end-chat").click()
    expect(frame.locator("#end-confirm")).to_be_visible()
    expect(frame.locator("#end-yes")).to_be_focused()
    no_violations(frame, f"end chat? ({language})")
    screenshot(page, f"exit-end-confirm-{language}-{size}")
    frame.locator("#end-no").click()
    expect(frame.locator("#end-confirm")).to_be_hidden()
    expect(frame.locator("#transcript")).to_contain_text("third private thing")

    frame.locator("#end-chat").click()
    frame.locator("#end-yes").click()
    expect(frame.locator("#ended-heading")).to_be_focused()
    expect(frame.locator("#chat")).to_be_hidden()
    expect(transcript).to_have_count(0)
    assert "private thing" not in frame.locator("body").inner_text()
    no_violations(frame, f"ended and cleared ({language})")
    screenshot(page, f"exit-ended-cleared-{language}-{size}")
    context.close()


@pytest.mark.parametrize(("viewport", "language"), VIEWS, ids=VIEW_IDS)
def test_the_staying_safe_page_has_quick_exit_and_a_neutral_title(
    sites: tuple[LiveServer, HostSite], browser: Any, viewport: Any, language: str
) -> None:
    server, _host = sites
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(f"{server.url}/staying-safe/?lang={language}&title=Abuse+help&exit=https://evil.example/")
    # The deployment's neutral title, in the visitor's language; never the link's.
    expect(page).to_have_title({"en": "Chat", "ar": "المحادثة"}[language])
    expect(page.locator("#quick-exit")).to_be_visible()
    lone_shifts(page, 2)
    expect(page.locator("#exit-count")).to_contain_text("●●○")
    no_violations(page, f"staying-safe page ({language})")
    screenshot(page, f"exit-staying-safe-page-{language}-{size_of(viewport)}")
    page.keyboard.press("Shift+Tab")
    expect(page.locator("#exit-count")).to_have_text("")
    lone_shifts(page, 3)
    page.wait_for_url(re.compile(r"\?left=1$"))
    assert page.url == f"{server.url}/?left=1"
    context.close()


def test_a_link_cannot_set_the_title_or_exit_but_staff_can(sites: tuple[LiveServer, HostSite], browser: Any) -> None:
    server, host = sites
    context = browser.new_context()
    asked: list[str] = []

    def refuse(route: Any) -> None:
        asked.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^https://evil\.example/"), refuse)
    page = context.new_page()
    page.goto(f"{server.url}/chat/?exit=https://evil.example/&title=Abuse+helpline+chat")
    expect(page).to_have_title("Chat")
    expect(page.locator(".bar .title")).to_have_text("Chat")
    page.locator("#quick-exit").click()
    page.wait_for_url(re.compile(r"\?left=1$"))
    assert asked == []

    server.shell(
        "from chat.models import EmbeddingSite; "
        f"EmbeddingSite.objects.create(origin='{host.origin}', title='Garden club', "
        f"exit_url='{host.url}/weather?staff=1')"
    )
    try:
        page.goto(f"{host.url}/")
        launcher = page.get_by_role("button", name="Garden club")  # not the tag's "Talk to us"
        launcher.click()
        frame = frame_of(page)
        assert frame.title() == "Garden club"
        expect(page.locator("iframe")).to_have_attribute("title", "Garden club")
        frame.locator("#notice-heading").click()  # the keyboard now goes to the frame
        lone_shifts(page, 3)
        expect(page).to_have_url(f"{host.url}/weather?staff=1")
    finally:
        server.shell("from chat.models import EmbeddingSite; EmbeddingSite.objects.all().delete()")
    context.close()


def test_no_file_of_ours_comes_from_the_browser_cache(sites: tuple[LiveServer, HostSite], browser: Any) -> None:
    _server, host = sites
    context = browser.new_context()
    page = context.new_page()
    headers: dict[str, str] = {}
    page.on("response", lambda r: headers.update({r.url: r.headers.get("cache-control", "")}))
    for _ in range(2):  # the second visit must fetch everything again
        frame = open_widget(page, host, "en")
        frame.wait_for_function("() => document.readyState === 'complete'")  # every file has arrived
        fetched = frame.evaluate(
            "performance.getEntriesByType('resource').filter(e => e.name.includes('/static/'))"
            ".map(e => [e.name.split('/static/')[1], e.transferSize])"
        )
        names = {name for name, _size in fetched}
        assert {"visitor/chat.css", "visitor/exit-first.js", "visitor/chat.js", "visitor/protocol.js"} <= names, names
        assert all(size > 0 for _name, size in fetched), fetched  # 0 would mean from the cache
    ours = {url: value for url, value in headers.items() if "/static/" in url or url.endswith("/widget.js")}
    assert ours and all("no-store" in value for value in ours.values()), ours
    context.close()


@pytest.mark.parametrize(("viewport", "language"), VIEWS, ids=VIEW_IDS)
def test_a_blocked_tab_shows_the_address_and_the_chat_page_of_its_own_has_the_shift_rule(
    sites: tuple[LiveServer, HostSite], browser: Any, viewport: Any, language: str
) -> None:
    server, _host = sites
    context = browser.new_context(viewport=viewport)
    context.add_init_script("window.open = () => null;")  # as a popup blocker answers
    page = context.new_page()
    page.goto(f"{server.url}/chat/?lang={language}")
    page.locator("#notice-ok").click()
    page.locator("#questions fieldset").first.wait_for()
    answer_first_options(page)
    page.locator("#questions input[value=wales]").check()
    page.locator("#triage-form button[type=submit]").click()
    service = page.locator("#options .service", has_text="Riverside Advice Centre")
    service.locator("button.elsewhere").first.click()
    expect(service.locator("[role=status]").first).to_contain_text("https://www.openstreetmap.org/search?query=")
    assert context.pages == [page]
    no_violations(page, f"tab not opened ({language})")
    page.locator("#options-heading").click()
    page.keyboard.press("Shift+Tab")
    lone_shifts(page, 2)
    expect(page.locator("#exit-count")).to_contain_text("●●○")
    lone_shifts(page, 1)
    page.wait_for_url(re.compile(r"\?left=1$"))
    context.close()
