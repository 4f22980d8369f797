"""A returning visitor recognised by their return phrase, in Chromium: the advisor of a first chat
offers a phrase (shown once, never sent to the visitor's screen); the visitor, back on another
device, gives it in a new chat, which is linked to the case with their consent (the words they
typed are masked on both screens at once); the case page
lists the phrase and revokes it. (An advisor who did not hold the case is given it:
tests/test_return_phrases.py.)"""

import re
from typing import Any

from playwright.sync_api import expect

from tests.support.browser import axe_violations, screenshot
from tests.support.console import Staff, close_open_chats, on_shift, sign_in, take_new_chat
from tests.support.live import LiveServer
from tests.support.visitor import LiveVisitor


def test_a_returning_visitor_links_a_new_chat_by_their_phrase(server: LiveServer, browser: Any) -> None:
    advisor = Staff(server, name="Rae")
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    sign_in(page, server, advisor)
    on_shift(page)
    close_open_chats(server)
    first_visit = LiveVisitor(server.ws_url, server.url)
    second_visit = LiveVisitor(server.ws_url, server.url)
    try:
        take_new_chat(page, first_visit)
        first_visit.say("He checks my phone every night")
        panel = page.locator(".chat-pane:not([hidden]) .risk-panel")
        panel.get_by_role("button", name="Start the risk checklist").click()
        title = panel.get_by_role("heading", name=re.compile(r"Risk checklist · case C-"))
        expect(title).to_be_visible()
        reference = title.inner_text().split()[-1]

        # Offered at the end of the chat: four words, shown once.
        expect(panel.get_by_text("No return phrase is live for this case.")).to_be_visible()
        panel.get_by_role("button", name="Offer a return phrase").click()
        shown = panel.locator(".phrase-words")
        expect(shown).to_have_text(re.compile(r"^[a-z]+ [a-z]+ [a-z]+ [a-z]+$"))
        words = shown.inner_text()
        screenshot(page, "pathway-phrase-offered")
        assert axe_violations(page) == []
        panel.get_by_role("button", name="I have read it to the visitor").click()
        expect(panel.locator(".phrase-words")).to_have_count(0)
        expect(panel.get_by_text(re.compile("A return phrase is live"))).to_be_visible()
        assert words not in page.content()
        # Nothing of it reached the visitor.
        assert not [text for text in first_visit.texts() if words in text]
        first_visit.end()

        # The visitor comes back from another device.
        take_new_chat(page, second_visit)
        second_visit.say("I was here before, I have my words")
        typed = second_visit.say(f"they are {words}")  # the visitor types them into the chat
        panel = page.locator(".chat-pane:not([hidden]) .risk-panel")
        link = panel.get_by_role("group", name="Returning visitor with a return phrase")
        link.get_by_label("Return phrase the visitor gives").fill("otter otter otter")
        link.get_by_role("button", name="Link with the return phrase").click()
        expect(link.get_by_role("alert")).to_contain_text("Ask the visitor first")
        link.get_by_label("The visitor agrees to link this chat to their earlier case").check()
        link.get_by_role("button", name="Link with the return phrase").click()
        expect(link.get_by_role("alert")).to_contain_text("a return phrase is 4 words; 3 given")
        screenshot(page, "pathway-phrase-link")
        assert axe_violations(page) == []
        link.get_by_label("Return phrase the visitor gives").fill(words.upper())
        link.get_by_role("button", name="Link with the return phrase").click()
        expect(panel.get_by_role("heading", name=f"Risk checklist · case {reference}")).to_be_visible()
        expect(panel.get_by_role("status").filter(has_text="by the visitor's return phrase")).to_contain_text(
            f"This chat joined case {reference}"
        )
        expect(panel.get_by_text(re.compile(r"A return phrase is live .*chats linked: 1"))).to_be_visible()
        # Once used, the typed words leave the log and both screens at once, without a reload.
        transcript = page.locator(".chat-pane:not([hidden]) .transcript")
        expect(transcript).to_contain_text("they are [return phrase removed]")
        expect(transcript).not_to_contain_text(words)
        amended = second_visit.wait_for(type="entry.amended")
        assert amended["seq"] == typed["seq"] and amended["text"] == "they are [return phrase removed]"
        screenshot(page, "pathway-phrase-linked")
        assert axe_violations(page) == []

        # The case now holds both chats; its page lists the phrase and revokes it.
        with context.expect_page() as opened:
            panel.get_by_role("link", name="Open the case record").click()
        case = opened.value
        expect(case.get_by_role("heading", name=f"Case {reference}")).to_be_visible()
        expect(case.locator("#conv-heading + ul li")).to_have_count(2)
        phrases = case.locator("#return-phrases")
        expect(phrases.get_by_role("row")).to_have_count(2)
        expect(phrases.get_by_role("row").nth(1)).to_contain_text("Live")
        assert words not in case.content()
        screenshot(case, "pathway-phrase-case")
        assert axe_violations(case) == []
        phrases.get_by_role("button", name=re.compile("^Revoke")).click()
        expect(case.locator("#return-phrases")).to_contain_text("The return phrase is revoked")
        expect(case.locator("#return-phrases").get_by_role("row").nth(1)).to_contain_text("Revoked")
        expect(case.locator("#return-phrases").get_by_role("button", name=re.compile("^Revoke"))).to_have_count(0)
        assert axe_violations(case) == []
        screenshot(case, "pathway-phrase-revoked")
    finally:
        first_visit.end()
        second_visit.end()
        first_visit.close()
        second_visit.close()
        context.close()
