"""The widget as a helpline embeds it: a host page on another origin, one script tag, the chat
in a frame of ours. The whole path (triage, directory, queue, an advisor in the console, chat, a
network drop, quick exit) with axe-core on every state, at desktop size and at 360 px."""

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import axe_violations, screenshot
from tests.support.console import Staff, on_shift, sign_in
from tests.support.host import HostSite, product_and_host
from tests.support.live import LiveServer

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, HostSite]]:
    """The product, and a helpline's site allowed to embed it."""
    with product_and_host(tmp_path_factory.mktemp("widget")) as both:
        yield both


def frame_of(page: Any) -> Any:
    """The chat frame (a Frame, for axe) once its script has run (every control answers)."""
    page.frame_locator("iframe").locator("html[data-ready]").wait_for(state="attached")
    frame = next(f for f in page.frames if "/widget/frame/" in f.url)
    return frame


def no_violations(target: Any, state: str) -> None:
    violations = axe_violations(target)
    assert violations == [], f"{state}: {violations}"


def storage_left(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """async () => ({
            local: localStorage.length,
            session: sessionStorage.length,
            idb: (await indexedDB.databases()).length,
            workers: (await navigator.serviceWorker.getRegistrations()).length,
            cookie: document.cookie,
        })"""
    )


def answer_triage(chat: Any, *, danger: bool = False) -> None:
    chat.get_by_role("group", name="Are you in danger right now?").get_by_label("Yes" if danger else "No").check()
    chat.get_by_role("group", name="Is it safe for you to chat now?").get_by_label("Yes").check()
    chat.get_by_label("Me", exact=True).check()
    chat.get_by_label("Housing or refuge").check()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "360"])
def test_whole_path_in_the_embedded_widget(sites: tuple[LiveServer, HostSite], browser: Any, viewport: Any) -> None:
    server, host = sites
    size = "360" if viewport == PHONE else "desktop"
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    sockets: list[tuple[Any, Any]] = []

    def through(route: Any) -> None:
        sockets.append((route, route.connect_to_server()))

    page.route_web_socket(re.compile(r"/ws/visitor/$"), through)
    page.goto(f"{host.url}/before")
    page.goto(f"{host.url}/")
    entries = page.evaluate("history.length")
    launcher = page.get_by_role("button", name="Talk to us")
    expect(launcher).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    no_violations(page, "closed")
    screenshot(page, f"widget-closed-{size}")

    launcher.click()
    chat = page.frame_locator("iframe")
    expect(chat.get_by_role("heading", name="Before you start")).to_be_visible()
    expect(chat.get_by_role("button", name="Leave this site")).to_be_visible()
    frame = frame_of(page)
    if viewport == PHONE:
        box = page.locator("iframe").bounding_box()
        assert box is not None and box["width"] == 360 and box["height"] == 740  # full screen
    no_violations(frame, "notice")
    screenshot(page, f"widget-notice-{size}")

    chat.get_by_role("button", name="I understand").click()
    expect(chat.get_by_role("heading", name="A few quick questions")).to_be_visible()
    # A required question left out is named, and nothing is sent.
    chat.get_by_role("button", name="Next").click()
    expect(chat.locator("#triage-error")).to_contain_text("Please answer: Are you in danger right now?")
    answer_triage(chat, danger=True)
    expect(chat.get_by_role("alert").filter(has_text="call 999")).to_be_visible()
    chat.get_by_label("Wales", exact=True).check()
    no_violations(frame, "triage")
    screenshot(page, f"widget-triage-{size}")

    chat.get_by_role("button", name="Next").click()
    expect(chat.get_by_role("heading", name="Help near you")).to_be_visible()
    directory = chat.locator("#options [data-directory]")
    expect(directory).to_contain_text("Services in Wales")
    refuge = directory.locator(".service", has_text="Harbour House")
    expect(refuge).to_contain_text("Through the National Domestic Abuse Helpline")
    expect(refuge).to_contain_text("refuge addresses are never shown")
    expect(directory.locator(".service", has_text="Riverside Advice Centre")).to_contain_text("12 Example Street")
    no_violations(frame, "directory")
    screenshot(page, f"widget-directory-{size}")

    chat.get_by_role("button", name="Talk to an advisor").click()
    expect(chat.locator("#position")).to_contain_text("in the queue")
    no_violations(frame, "queued")
    screenshot(page, f"widget-queued-{size}")

    advisor = Staff(server, name="Dana")
    console = browser.new_context().new_page()
    sign_in(console, server, advisor)
    on_shift(console)
    expect(console.locator(".queue-item").first).to_contain_text("In danger")
    console.get_by_role("button", name="Take next chat").click()
    expect(chat.locator("#transcript")).to_contain_text("You are now talking to Dana.")

    # Visitor text is text, both ways; a message of the full 4,000 characters arrives whole.
    message = chat.get_by_label("Your message")
    message.fill("<img src=x onerror=alert(1)> hello, I need help")
    message.press("Enter")
    pane = console.locator(".chat-pane:not([hidden])")
    expect(pane.locator(".transcript")).to_contain_text("<img src=x onerror=alert(1)> hello, I need help")
    assert pane.locator(".transcript img").count() == 0
    composer = pane.get_by_label("Message", exact=True)
    composer.fill("<b>I'm here</b> <script>alert(1)</script>")
    composer.press("Enter")
    expect(chat.locator("#transcript")).to_contain_text("<b>I'm here</b> <script>alert(1)</script>")
    # The advisor's console has shown the visitor's message: the visitor sees it was read.
    expect(chat.locator("#transcript li.mine .state").first).to_have_text("Read")
    assert chat.locator("#transcript b, #transcript script").count() == 0
    no_violations(frame, "chatting")
    screenshot(page, f"widget-chatting-{size}")
    long_text = "x" * 3990 + " the end"
    message.fill(long_text + "y" * 50)  # the box takes at most 4,000 characters
    message.press("Enter")
    expect(pane.locator(".transcript")).to_contain_text("x the end")

    # The network drops; what the visitor writes meanwhile arrives once, after it comes back.
    page_side, server_side = sockets[-1]
    server_side.close()
    page_side.close(code=4999, reason="network cut")
    expect(chat.locator("#connection")).to_be_visible()
    screenshot(page, f"widget-reconnecting-{size}")
    message.fill("are you still there?")
    message.press("Enter")
    expect(chat.locator("#connection")).to_be_hidden(timeout=15000)
    expect(pane.locator(".transcript")).to_contain_text("are you still there?")
    composer.fill("yes, still here")
    composer.press("Enter")
    expect(chat.locator("#transcript")).to_contain_text("yes, still here")
    assert chat.locator("#transcript li", has_text="are you still there?").count() == 1
    assert pane.locator(".transcript li", has_text="are you still there?").count() == 1

    # Quick exit from the host page: Shift three times, focus on the host page's own field.
    page.locator("#search").focus()
    for _ in range(3):
        page.keyboard.press("Shift")
    expect(page).to_have_url(f"{host.url}/weather")
    expect(pane.locator(".transcript")).to_contain_text("The visitor used quick exit.")
    expect(pane.get_by_label("Message", exact=True)).to_be_disabled()

    # Nothing left behind for either origin, and neither the host page nor the chat is in the history.
    assert context.cookies() == []
    assert storage_left(page) == {"local": 0, "session": 0, "idb": 0, "workers": 0, "cookie": ""}
    product_tab = context.new_page()
    product_tab.goto(f"{server.url}/staying-safe/")
    assert storage_left(product_tab) == {"local": 0, "session": 0, "idb": 0, "workers": 0, "cookie": ""}
    product_tab.close()
    # The exit page took the host page's place: no entry was added, by the frame or the exit.
    assert page.evaluate("history.length") == entries
    page.go_back()
    expect(page).to_have_url(f"{host.url}/before")
    context.close()
    console.context.close()


def test_quick_exit_from_inside_the_frame_before_any_chat(sites: tuple[LiveServer, HostSite], browser: Any) -> None:
    _server, host = sites
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{host.url}/")
    page.get_by_role("button", name="Talk to us").click()
    chat = page.frame_locator("iframe")
    chat.get_by_role("button", name="Leave this site").click()
    expect(page).to_have_url(f"{host.url}/weather")
    assert context.cookies() == []
    context.close()


def test_out_of_hours_and_surge_pause(sites: tuple[LiveServer, HostSite], browser: Any) -> None:
    server, host = sites
    server.shell("from chat.models import OpeningHours; OpeningHours.objects.update(closes='00:01')")
    try:
        for viewport, size in ((DESKTOP, "desktop"), (PHONE, "360")):
            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            page.goto(f"{host.url}/")
            page.get_by_role("button", name="Talk to us").click()
            chat = page.frame_locator("iframe")
            expect(chat.get_by_role("heading", name="We're closed just now")).to_be_visible()
            expect(chat.locator("#closed")).to_contain_text("call 999")
            expect(chat.locator("#hours-table")).to_contain_text("Monday")
            expect(chat.locator("#next-open")).to_contain_text("We open again on")
            lines = chat.locator("#closed [data-directory] section").first
            expect(lines).to_contain_text("Open now: 24-hour lines")
            expect(lines).to_contain_text("National Domestic Abuse Helpline")
            expect(lines).not_to_contain_text("Respect Phoneline")  # not a 24-hour line
            no_violations(frame_of(page), "out of hours")
            screenshot(page, f"widget-out-of-hours-{size}")
            context.close()
    finally:
        server.shell("from chat.models import OpeningHours; OpeningHours.objects.update(closes='00:00')")

    server.shell(
        "from chat.models import ServiceStatus; "
        "ServiceStatus.objects.update_or_create(pk=1, defaults={'paused': True, 'message': 'Very busy just now.'})"
    )
    try:
        for viewport, size in ((DESKTOP, "desktop"), (PHONE, "360")):
            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            page.goto(f"{host.url}/")
            page.get_by_role("button", name="Talk to us").click()
            chat = page.frame_locator("iframe")
            expect(chat.get_by_role("heading", name="We can't start a chat just now")).to_be_visible()
            expect(chat.locator("#refused-message")).to_have_text("Very busy just now.")
            no_violations(frame_of(page), "refused")
            screenshot(page, f"widget-refused-{size}")
            context.close()
    finally:
        server.shell("from chat.models import ServiceStatus; ServiceStatus.objects.filter(pk=1).update(paused=False)")


def test_a_site_not_allowed_gets_no_widget(sites: tuple[LiveServer, HostSite], browser: Any) -> None:
    server, _ = sites
    stranger = HostSite(server.url)
    stranger.start()
    try:
        context = browser.new_context()
        page = context.new_page()
        expected = f"({stranger.origin}) is not allowed to show the chat widget"
        with page.expect_console_message(lambda m: m.type == "error" and expected in m.text):
            page.goto(f"{stranger.url}/")
        assert page.locator("[data-helpline-chat]").count() == 0
        # Framing the chat directly, without the script, is refused by the browser (frame-ancestors).
        with page.expect_console_message(lambda m: "frame-ancestors" in m.text):
            page.goto(f"{stranger.url}/framed")
        framed = [f for f in page.frames if f != page.main_frame]
        assert framed and not any("/widget/frame/" in f.url and f.query_selector("#app") for f in framed)
        context.close()
    finally:
        stranger.stop()


def test_keyboard_only_from_the_launcher_to_the_queue(sites: tuple[LiveServer, HostSite], browser: Any) -> None:
    """No mouse: Tab to the launcher, Enter, and the chat takes focus; triage answered with the
    keyboard; focus is always visible."""
    _server, host = sites
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{host.url}/")
    page.get_by_role("button", name="Talk to us").wait_for()
    page.keyboard.press("Tab")  # the page's search field
    page.keyboard.press("Tab")  # the launcher
    page.keyboard.press("Enter")
    chat = page.frame_locator("iframe")
    expect(chat.get_by_role("heading", name="Before you start")).to_be_focused()
    frame = frame_of(page)

    def tab_to(name: str) -> None:
        for _ in range(20):
            page.keyboard.press("Tab")
            focused = frame.evaluate("document.activeElement && document.activeElement.textContent.trim()")
            if focused == name:
                outline = frame.evaluate("getComputedStyle(document.activeElement).outlineStyle")
                assert outline != "none", f"{name} has no visible focus"
                return
        raise AssertionError(f"Tab never reached {name!r}")

    tab_to("I understand")
    page.keyboard.press("Enter")
    expect(chat.get_by_role("heading", name="A few quick questions")).to_be_focused()
    # Each radio group takes one Tab; arrows choose within it.
    for group, presses in (
        ("Are you in danger right now?", 1),
        ("Is it safe for you to chat now?", 0),
        ("Who is this about?", 0),
    ):
        page.keyboard.press("Tab")
        for _ in range(presses):
            page.keyboard.press("ArrowDown")
        page.keyboard.press("Space")
        expect(chat.get_by_role("group", name=group).locator("input:checked")).to_have_count(1)
    tab_to("Next")
    page.keyboard.press("Enter")
    expect(chat.get_by_role("heading", name="Help near you")).to_be_focused()
    tab_to("Talk to an advisor")
    page.keyboard.press("Enter")
    expect(chat.locator("#position")).to_contain_text("in the queue")
    context.close()


@pytest.mark.parametrize("language", ["cy", "pl", "ar"])
def test_the_widget_in_other_languages(sites: tuple[LiveServer, HostSite], browser: Any, language: str) -> None:
    _server, host = sites
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{host.url}/?lang={language}")
    page.get_by_role("button", name="Talk to us").click()
    frame = frame_of(page)
    html = page.frame_locator("iframe").locator("html")
    expect(html).to_have_attribute("lang", language)
    expect(html).to_have_attribute("dir", "rtl" if language == "ar" else "ltr")
    if language == "ar":
        # Right to left: the quick-exit button sits at the start of the bar, on the left (once
        # the frame's page has finished its layout: measured at once, it was sometimes midway).
        exit_button = page.frame_locator("iframe").locator("#quick-exit")
        deadline = time.monotonic() + 5
        while (box := exit_button.bounding_box()) is None or box["x"] >= 100:
            assert time.monotonic() < deadline, f"quick exit not on the left: {box}"
            page.wait_for_timeout(100)
    no_violations(frame, f"notice ({language})")
    screenshot(page, f"widget-notice-{language}-360")
    frame.locator("#notice-ok").click()
    frame.locator("#questions fieldset").first.wait_for()
    assert "Are you in danger" not in frame.locator("#questions").inner_text()
    no_violations(frame, f"triage ({language})")
    screenshot(page, f"widget-triage-{language}-360")
    context.close()
