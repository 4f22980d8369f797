"""The visitor's chat page in Chromium: notice, triage, queue, chat, a dropped network, quick
exit; with an advisor in the console."""

import re
from typing import Any

from playwright.sync_api import expect

from tests.support.browser import axe_violations, screenshot
from tests.support.console import Staff, on_shift, sign_in
from tests.support.live import LiveServer


def test_visitor_path_from_triage_to_quick_exit(server: LiveServer, browser: Any) -> None:
    visitor_context = browser.new_context(viewport={"width": 360, "height": 740})
    page = visitor_context.new_page()
    # Every visitor socket passes through here, so the test can cut the network under it.
    sockets: list[tuple[Any, Any]] = []

    def through(route: Any) -> None:
        sockets.append((route, route.connect_to_server()))

    page.route_web_socket(re.compile(r"/ws/visitor/$"), through)
    page.goto(f"{server.url}/chat/")
    expect(page.get_by_role("heading", name="Before you start")).to_be_visible()
    expect(page.get_by_role("button", name="Leave this site")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "visitor-notice-360")
    page.get_by_role("button", name="I understand").click()

    page.get_by_role("group", name="Are you in danger right now?").get_by_label("Yes").check()
    expect(page.get_by_role("alert")).to_contain_text("call 999")
    page.get_by_role("group", name="Is it safe for you to chat now?").get_by_label("Yes").check()
    page.get_by_label("Me", exact=True).check()
    page.get_by_label("Housing or refuge").check()
    assert axe_violations(page) == []
    screenshot(page, "visitor-triage-360")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Talk to an advisor").click()
    expect(page.locator("#position")).to_contain_text("You are number 1 in the queue")
    assert axe_violations(page) == []
    screenshot(page, "visitor-queued-360")

    advisor = Staff(server, name="Dana")
    console = browser.new_context().new_page()
    sign_in(console, server, advisor)
    on_shift(console)
    expect(console.locator(".queue-item").first).to_contain_text("In danger")
    console.get_by_role("button", name="Take next chat").click()
    expect(page.locator("#transcript")).to_contain_text("You are now talking to Dana.")

    page.get_by_label("Your message").fill("hello, I need help")
    page.get_by_label("Your message").press("Enter")
    pane = console.locator(".chat-pane:not([hidden])")
    expect(pane.locator(".transcript")).to_contain_text("hello, I need help")
    # Each side draws its own message from the reply that carries its entry: once, as its own.
    expect(page.locator("#transcript li.mine", has_text="hello, I need help")).to_have_count(1)
    composer = pane.get_by_label("Message", exact=True)
    composer.fill("<b>I'm here</b> <script>alert(1)</script>")
    composer.press("Enter")
    expect(page.locator("#transcript")).to_contain_text("<b>I'm here</b> <script>alert(1)</script>")
    expect(pane.locator(".transcript .entry", has_text="I'm here")).to_have_count(1)
    assert page.locator("#transcript b, #transcript script").count() == 0
    assert axe_violations(page) == []
    screenshot(page, "visitor-chatting-360")

    # The network drops; what the advisor writes meanwhile arrives once, in order, afterwards.
    page_side, server_side = sockets[-1]
    server_side.close()
    page_side.close(code=4999, reason="network cut")
    expect(page.locator("#connection")).to_be_visible()
    screenshot(page, "visitor-reconnecting-360")
    composer.fill("are you still there?")
    composer.press("Enter")
    expect(page.locator("#connection")).to_be_hidden(timeout=15000)
    assert len(sockets) >= 2
    expect(page.locator("#transcript")).to_contain_text("are you still there?")
    assert page.locator("#transcript li", has_text="are you still there?").count() == 1

    # Quick exit: three presses of Shift.
    for _ in range(3):
        page.keyboard.press("Shift")
    expect(page).to_have_url(re.compile(r"/\?left=1$"))
    expect(pane.locator(".transcript")).to_contain_text("The visitor used quick exit.")
    assert visitor_context.cookies() == []
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    page.go_back()
    assert "/chat/" not in page.url
    visitor_context.close()
    console.context.close()


def test_quick_exit_button_and_no_trace_before_any_chat(server: LiveServer, browser: Any) -> None:
    context = browser.new_context()
    page = context.new_page()
    response = page.goto(f"{server.url}/chat/")
    assert response is not None and "no-store" in response.headers["cache-control"]
    page.get_by_role("button", name="Leave this site").click()
    expect(page).to_have_url(re.compile(r"/\?left=1$"))
    assert context.cookies() == []
    context.close()
