"""Blocking an abusive visitor and the end-of-chat feedback question, in Chromium: what the
advisor does, what the visitor sees (neutral words, the emergency number, the directory), the
supervisor's review and early lift, and the one-tap "Did this chat help?"."""

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import axe_violations, screenshot
from tests.support.console import Staff, on_shift, sign_in
from tests.support.live import LiveServer

ARABIC = {
    "ended": "انتهت المحادثة",
    "question": "هل ساعدتك هذه المحادثة؟",
    "optional": "لا يلزمك الإجابة.",
    "partly": "جزئيًا",
    "thanks": "شكرًا لإخبارنا.",
    "unavailable": "المحادثة غير متاحة الآن. يُرجى المحاولة لاحقًا، أو التواصل مع إحدى الخدمات أدناه.",
}
ENGLISH = {
    "ended": "The chat has ended",
    "question": "Did this chat help?",
    "optional": "You don't have to answer.",
    "partly": "Partly",
    "thanks": "Thank you for telling us.",
    "unavailable": (
        "The chat is not available right now. Please try again later, or contact one of the services below."
    ),
}


def queue_from_widget(page: Any, server: LiveServer, lang: str = "en") -> None:
    """Through the notice and triage by the options' values, in any language, into the queue."""
    page.goto(f"{server.url}/chat/?lang={lang}")
    page.locator("#notice-ok").click()
    for name, value in (("in_danger", "no"), ("safe_to_talk", "yes"), ("about", "myself"), ("help", "housing")):
        page.locator(f"#questions input[name='{name}'][value='{value}']").check()
    page.locator("#triage-form button[type=submit]").click()
    page.locator("#talk").click()
    expect(page.locator("#position")).not_to_be_empty()


def lift_every_block(server: LiveServer) -> None:
    """Every visitor of the shared live server comes from 127.0.0.1: a connection block left in
    force would refuse the session's later tests."""
    server.shell(
        "from django.utils import timezone; from chat.models import VisitorBlock; "
        "VisitorBlock.objects.filter(lifted_at__isnull=True).update(lifted_at=timezone.now())"
    )


def test_a_blocked_visitor_sees_a_neutral_message_and_a_supervisor_lifts_the_block(
    server: LiveServer, browser: Any
) -> None:
    visitor_context = browser.new_context(viewport={"width": 360, "height": 740})
    page = visitor_context.new_page()
    advisor, supervisor = Staff(server, name="Sam"), Staff(server, role="supervisor", name="Lee")
    console = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    review = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    try:
        queue_from_widget(page, server)
        sign_in(console, server, advisor)
        on_shift(console)
        console.get_by_role("button", name="Take next chat").click()
        expect(page.locator("#transcript")).to_contain_text("You are now talking to Sam.")
        page.get_by_label("Your message").fill("you are useless, I'll find where you work")
        page.get_by_label("Your message").press("Enter")
        pane = console.locator(".chat-pane:not([hidden])")
        expect(pane.locator(".transcript")).to_contain_text("I'll find where you work")

        # The advisor blocks: Other needs a note, said where focus goes.
        pane.get_by_role("button", name="Block visitor").click()
        dialog = console.get_by_role("dialog", name="Block this visitor")
        expect(dialog).to_be_visible()
        dialog.get_by_label("Reason").select_option("other")
        dialog.get_by_role("button", name="Block").click()
        expect(dialog.get_by_role("alert")).to_have_text("Say why in the note when the reason is Other.")
        expect(dialog.get_by_label("Note for the review (required for Other)")).to_be_focused()
        dialog.get_by_label("Reason").select_option("abusive")
        dialog.get_by_label("Block for").select_option("24")
        dialog.get_by_label("Note for the review (required for Other)").fill("Threats to find the office")
        expect(dialog.get_by_role("alert")).to_be_hidden()
        dialog.get_by_label("Also block their connection, for at most 24 hours").check()
        assert axe_violations(console) == []
        screenshot(console, "console-block-dialog")
        dialog.get_by_role("button", name="Block").click()
        expect(dialog).to_be_hidden()
        expect(console.locator("#offers")).to_contain_text("Visitor blocked until")
        expect(pane.locator(".chat-state")).to_have_text("Ended")
        expect(pane.locator(".transcript")).to_contain_text("Sam blocked this visitor for 24 h (Abusive to staff).")
        expect(pane.get_by_role("button", name="Block visitor")).to_be_hidden()
        screenshot(console, "console-after-block")

        # The visitor: neutral words, the emergency number, the other services; nothing of the chat.
        expect(page.get_by_role("heading", name="We can't start a chat just now")).to_be_visible()
        expect(page.locator("#refused-message")).to_have_text(
            "The chat is not available right now. Please try again later, or contact one of the services below."
        )
        expect(page.locator("#refused .danger-box")).to_contain_text("call 999")
        expect(page.locator("#refused [data-directory]")).not_to_be_empty()
        expect(page.locator("#transcript li")).to_have_count(0)
        body = page.locator("body").inner_text().lower()
        assert "block" not in body, body
        said = page.locator("#refused > h1, #refused > p").all_inner_texts()
        assert not any(word in " ".join(said).lower() for word in ("abus", "ban", "staff", "violat")), said
        assert axe_violations(page) == []
        screenshot(page, "visitor-unavailable-360")

        # A new session from the same connection (a reload): refused the same way, at once.
        page.reload()
        expect(page.get_by_role("heading", name="We can't start a chat just now")).to_be_visible()
        expect(page.locator("#refused [data-directory]")).not_to_be_empty()
        screenshot(page, "visitor-unavailable-reload-360")
        # In Arabic, right to left, on a desktop.
        arabic = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        arabic.goto(f"{server.url}/chat/?lang=ar")
        expect(arabic.locator("#refused-message")).to_have_text(ARABIC["unavailable"])
        expect(arabic.locator("html")).to_have_attribute("dir", "rtl")
        expect(arabic.locator("#refused [data-directory]")).not_to_be_empty()
        assert axe_violations(arabic) == []
        screenshot(arabic, "visitor-unavailable-ar-desktop")
        arabic.context.close()

        # The supervisor reviews and lifts it early.
        sign_in(review, server, supervisor)
        review.goto(f"{server.url}/console/supervisor/")
        row = review.locator("#block-rows tr").first
        expect(row).to_contain_text("Abusive to staff: Threats to find the office")
        expect(row).to_contain_text("Sam")
        expect(row).to_contain_text("24 h + connection")
        expect(row).to_contain_text("In force until")
        assert axe_violations(review) == []
        screenshot(review, "console-supervisor-blocks")
        row.get_by_role("button", name=re.compile("^Lift block")).click()
        lift = review.get_by_role("dialog", name="Lift this block early")
        lift.get_by_label("Note for the audit trail (optional)").fill("Reviewed with Sam: one-off")
        lift.get_by_role("button", name="Lift block").click()
        expect(row).to_contain_text("Lifted")
        expect(row).to_contain_text("by Lee: Reviewed with Sam: one-off")
        screenshot(review, "console-supervisor-block-lifted")

        # Served again.
        page.reload()
        expect(page.get_by_role("heading", name="Before you start")).to_be_visible()
    finally:
        lift_every_block(server)
        for context in (visitor_context, console.context, review.context):
            context.close()


@pytest.mark.parametrize(
    ("lang", "width"), [("en", 360), ("ar", 360), ("en", 1280)], ids=["en-360", "ar-360", "en-desktop"]
)
def test_the_visitor_may_say_whether_the_chat_helped(server: LiveServer, browser: Any, lang: str, width: int) -> None:
    words = ARABIC if lang == "ar" else ENGLISH
    visitor_context = browser.new_context(viewport={"width": width, "height": 740})
    page = visitor_context.new_page()
    console = browser.new_context().new_page()
    before = counts(server)
    try:
        queue_from_widget(page, server, lang)
        sign_in(console, server, Staff(server, name="Kit"))
        on_shift(console)
        console.get_by_role("button", name="Take next chat").click()
        expect(page.locator("#message")).to_be_visible()  # assigned: the chat is open
        pane = console.locator(".chat-pane:not([hidden])")
        pane.get_by_role("button", name="End chat").click()
        console.locator("#end-outcome").select_option("emotional_support")
        console.locator("#end-confirm").click()

        expect(page.get_by_role("heading", name=words["ended"])).to_be_visible()
        question = page.get_by_role("group", name=re.compile("^" + re.escape(words["question"])))
        expect(question).to_be_visible()
        expect(question).to_contain_text(words["optional"])
        assert axe_violations(page) == []
        screenshot(page, f"visitor-feedback-question-{lang}-{width}")
        question.get_by_role("button", name=words["partly"]).click()
        expect(page.get_by_text(words["thanks"])).to_be_focused()
        expect(question).to_be_hidden()
        assert axe_violations(page) == []
        screenshot(page, f"visitor-feedback-thanks-{lang}-{width}")
        after = counts(server)
        assert after.get("partly", 0) == before.get("partly", 0) + 1
        assert sum(after.values()) == sum(before.values()) + 1
    finally:
        visitor_context.close()
        console.context.close()


def counts(server: LiveServer) -> dict[str, int]:
    out = server.shell(
        "from chat.models import FeedbackCount; "
        "print(';'.join(f'{r.answer}={r.count}' for r in FeedbackCount.objects.all()))"
    )
    line = out.strip().splitlines()[-1] if out.strip() else ""
    return {k: int(v) for k, v in (item.split("=") for item in line.split(";") if item)}
