"""The end-of-chat record walked from the keyboard only, then the published figures and their
printable page in Chromium, with axe-core on each."""

import json
import re
from typing import Any

from playwright.sync_api import expect

from tests.support.browser import axe_violations, screenshot
from tests.support.console import Staff, on_shift, sign_in
from tests.support.live import LiveServer
from tests.support.visitor import LiveVisitor


def recorded(server: LiveServer, conversation_id: str) -> dict[str, Any]:
    out = server.shell(
        "import json; from agents.models import ContactStatistic as S; "
        f"r = S.objects.get(conversation_id={conversation_id!r}); "
        "print(json.dumps([r.recorded, r.services, r.referrals, r.gender, r.age_band, r.said_returning, r.outcome]))"
    )
    keys = ["recorded", "services", "referrals", "gender", "age_band", "said_returning", "outcome"]
    return dict(zip(keys, json.loads(out.strip().splitlines()[-1]), strict=True))


def test_end_of_chat_record_from_the_keyboard_then_the_figures(server: LiveServer, browser: Any) -> None:
    advisor = Staff(server, name="Ash")
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, server, advisor)
    on_shift(page)
    visitor = LiveVisitor(server.ws_url, server.url)
    try:
        conversation_id = visitor.queue(about="myself")
        page.get_by_role("button", name="Take next chat").click()
        visitor.wait_for(type="entry", event="assigned")
        pane = page.locator(".chat-pane:not([hidden])")
        pane.get_by_role("button", name="End chat").focus()
        page.keyboard.press("Enter")
        dialog = page.locator("#end-dialog")
        expect(dialog.get_by_role("group", name="Services given")).to_be_visible()
        expect(page.get_by_label("Outcome")).to_be_focused()
        page.keyboard.press("ArrowDown")  # the outcome stays: information given -> emotional support
        page.keyboard.press("Tab")
        expect(dialog.get_by_label("Emotional support")).to_be_focused()
        page.keyboard.press("Space")
        page.keyboard.press("l")  # the next choice starting with L
        expect(dialog.get_by_label("Legal information")).to_be_focused()
        page.keyboard.press("Space")
        page.keyboard.press("Tab")  # one tab stop per group
        expect(dialog.get_by_label("Police")).to_be_focused()
        page.keyboard.press("Space")
        page.keyboard.press("r")
        expect(dialog.get_by_label(re.compile("^Refuge or shelter"))).to_be_focused()
        page.keyboard.press("Space")
        page.keyboard.press("Tab")
        gender = dialog.get_by_role("group", name="Gender")
        expect(gender.get_by_label("Not said")).to_be_focused()
        page.keyboard.press("ArrowRight")
        expect(gender.get_by_label("Woman")).to_be_checked()
        page.keyboard.press("Tab")
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        expect(dialog.get_by_label("25 to 34")).to_be_checked()
        screenshot(page, "console-end-of-chat-record")
        assert axe_violations(page) == []
        page.keyboard.press("Enter")  # ends the chat
        expect(dialog).to_be_hidden()
        expect(pane.locator(".chat-state")).to_have_text("Ended")
        visitor.wait_for(type="entry", event="closed")
        expect(page.get_by_text("The chat's figures were saved.")).to_be_visible()
        assert recorded(server, conversation_id) == {
            "recorded": True,
            "services": ["emotional_support", "legal_information"],
            "referrals": ["police", "refuge"],
            "gender": "woman",
            "age_band": "25_34",
            "said_returning": "",
            "outcome": "emotional_support",
        }
    finally:
        visitor.close()
    page.close()

    server.manage("demo_setup", "--history", "2")  # two years, so the year before has figures too
    supervisor = Staff(server, role="supervisor", name="Lee")
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, server, supervisor)
    page.get_by_role("link", name="Reports").click()
    page.get_by_role("link", name="Published figures").click()
    expect(page.get_by_role("heading", name="Published figures")).to_be_visible()
    page.get_by_role("link", name="Last month").click()
    summary = page.locator("#figures-summary")
    expect(summary).to_contain_text("Contacts")
    expect(page.locator("#figures-services")).to_contain_text("Emotional support")
    expect(page.locator("#figures-referrals")).to_contain_text("Police")
    screenshot(page, "console-published-figures")
    assert axe_violations(page) == []
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename.startswith("figures-")
    page.get_by_role("link", name="Printable page").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Contacts")
    expect(page.get_by_role("heading", name="About these figures")).to_be_visible()
    assert axe_violations(page) == []
    page.emulate_media(media="print")
    screenshot(page, "figures-printable")
    page.close()
