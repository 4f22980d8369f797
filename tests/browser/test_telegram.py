"""A Telegram visitor in the advisor's console, in Chromium: the same queue and chat pane as a web
visitor's, told apart only by the Telegram label. The bot runs in a real daphne process against
the stand-in Bot API; updates reach it over HTTP at its webhook, as Telegram's do."""

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import axe_violations, screenshot
from tests.support.console import Staff, close_open_chats, on_shift, sign_in
from tests.support.live import LiveServer, embedded_server
from tests.support.telegram_api import SECRET, TOKEN, FakeTelegram, post_to_webhook
from tests.telegram_flow import ANSWERS

CHAT = 4242


@pytest.fixture(scope="module")
def bot_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, FakeTelegram]]:
    with FakeTelegram() as api:
        server = embedded_server(
            tmp_path_factory.mktemp("telegram"),
            env={
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_WEBHOOK_SECRET": SECRET,
                "TELEGRAM_API_URL": api.url,
                "TELEGRAM_PER_CHAT_SECONDS": "0",
            },
        )
        server.start()
        yield server, api
        server.stop()


def test_the_advisor_sees_a_telegram_chat_by_its_label(bot_server: Any, browser: Any) -> None:
    server, api = bot_server
    close_open_chats(server)
    webhook = f"{server.url}/telegram/webhook/"
    staff = Staff(server, name="Robin")
    page = browser.new_page()
    sign_in(page, server, staff)
    on_shift(page)

    assert post_to_webhook(webhook, api.message_update(CHAT, "/start"))[0] == 200
    for label in [*ANSWERS, "Skip"]:  # the demo set-up has regions: skipped
        # The server sends from its delivery thread: each button is pressed once it is there, and
        # the next only once the bot has answered the press (the question edited or a new one).
        api.wait_until(lambda label=label: label in api.buttons(CHAT), f"the button {label!r}")
        before = api.latest_buttons(CHAT)
        assert post_to_webhook(webhook, api.press_update(CHAT, label))[0] == 200
        api.wait_until(lambda before=before: api.latest_buttons(CHAT) != before, f"the bot's answer to {label!r}")
    api.wait_until(lambda: "Talk to someone" in api.buttons(CHAT), "the choice to talk to someone")
    assert post_to_webhook(webhook, api.press_update(CHAT, "Talk to someone"))[0] == 200
    item = page.locator(".queue-item").first
    expect(item.locator(".badge.channel")).to_have_text("Telegram")
    page.get_by_role("button", name="Take next chat").click()
    pane = page.locator(".chat-pane:not([hidden])")
    expect(pane.locator(".chat-channel")).to_have_text("Telegram")

    post_to_webhook(webhook, api.message_update(CHAT, "Can you help me?"))
    expect(pane.locator(".transcript")).to_contain_text("Can you help me?")
    composer = pane.get_by_label("Message", exact=True)
    composer.fill("Yes, I'm here to help.")
    composer.press("Enter")
    expect(pane.locator(".transcript")).to_contain_text("Yes, I'm here to help.")
    api.wait_until(lambda: "Yes, I'm here to help." in api.bot_texts(CHAT), "the advisor's message")
    screenshot(page, "console-telegram-chat")
    assert axe_violations(page) == []

    post_to_webhook(webhook, api.message_update(CHAT, "/exit"))
    expect(pane.locator(".transcript")).to_contain_text("The visitor used quick exit.")
    expect(pane.locator(".chat-state")).to_have_text("Ended")
    api.wait_until(lambda: api.chat(CHAT) == [], "the chat's messages deleted")
    page.close()
