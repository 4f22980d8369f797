"""Languages in Chromium: a visitor writes in Polish, the chat suggests switching, the advisor
(who speaks English only) is told and uses machine translation from a LibreTranslate-compatible
server; without a provider the console says there is none."""

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import axe_violations, screenshot
from tests.support.console import Staff, on_shift, sign_in
from tests.support.libretranslate import API_KEY, POLISH, POLISH_IN_ENGLISH, TranslationServer
from tests.support.live import LiveServer, embedded_server


@pytest.fixture(scope="module")
def translated_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, TranslationServer]]:
    with TranslationServer() as provider:
        server = embedded_server(
            tmp_path_factory.mktemp("languages"), env={"TRANSLATION_URL": provider.url, "TRANSLATION_API_KEY": API_KEY}
        )
        server.start()
        yield server, provider
        server.stop()


def _visitor_queued(browser: Any, server: LiveServer) -> Any:
    page = browser.new_context(viewport={"width": 360, "height": 740}).new_page()
    page.goto(f"{server.url}/chat/")
    page.get_by_role("button", name="I understand").click()
    page.get_by_role("group", name="Are you in danger right now?").get_by_label("No").check()
    page.get_by_role("group", name="Is it safe for you to chat now?").get_by_label("Yes").check()
    page.get_by_label("Me", exact=True).check()
    page.get_by_label("Someone to talk to").check()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Talk to an advisor").click()
    expect(page.locator("#position")).to_contain_text("in the queue")
    return page


def _advisor_takes(browser: Any, server: LiveServer, name: str) -> Any:
    advisor = Staff(server, name=name)
    console = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(console, server, advisor)
    on_shift(console)
    console.get_by_role("button", name="Take next chat").click()
    return console


def test_polish_visitor_english_advisor_with_translation(
    translated_server: tuple[LiveServer, TranslationServer], browser: Any
) -> None:
    server, provider = translated_server
    page = _visitor_queued(browser, server)
    console = _advisor_takes(browser, server, "Robin")
    expect(page.locator("#transcript")).to_contain_text("You are now talking to Robin.")

    page.get_by_label("Your message").fill(POLISH)
    page.get_by_label("Your message").press("Enter")
    switch = page.get_by_role("button", name="Switch to Polski?")
    expect(switch).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "visitor-language-suggested-360")
    switch.click()
    expect(switch).to_be_hidden()

    pane = console.locator(".chat-pane:not([hidden])")
    expect(pane.locator(".transcript")).to_contain_text("The visitor switched the chat to Polish (pl).")
    expect(pane.locator(".language-line")).to_contain_text("Polish (pl)")
    expect(pane.locator(".language-help")).to_contain_text("You don't list Polish among your languages")
    expect(pane.locator(".language-help")).to_contain_text("Machine translation is available")

    message = pane.locator(".transcript li", has_text=POLISH)
    message.get_by_role("button", name="Translate").click()
    expect(message.locator(".translated")).to_contain_text(POLISH_IN_ENGLISH)
    composer = pane.get_by_label("Message", exact=True)
    composer.fill("You are not alone.")
    pane.get_by_role("button", name="Translate my draft").click()
    expect(composer).to_have_value("[en->pl] You are not alone.")
    expect(pane.locator(".composer-hint")).to_contain_text("Check it before you send")
    assert axe_violations(console) == []
    screenshot(console, "console-translation")
    composer.press("Enter")
    expect(page.locator("#transcript")).to_contain_text("[en->pl] You are not alone.")
    # The visitor never sees the machine translation of their own words.
    expect(page.locator("#transcript")).not_to_contain_text(POLISH_IN_ENGLISH)
    assert [r["target"] for r in provider.requests] == ["en", "pl"]
    page.context.close()
    console.context.close()


def test_without_a_provider_the_console_says_so(server: LiveServer, browser: Any) -> None:
    page = _visitor_queued(browser, server)
    console = _advisor_takes(browser, server, "Kim")
    page.get_by_label("Your message").fill("Dw i angen siarad â rhywun am fy mhartner, mae arna i ofn")
    page.get_by_label("Your message").press("Enter")
    pane = console.locator(".chat-pane:not([hidden])")
    expect(pane.locator(".language-line")).to_contain_text("the visitor's words read as Welsh (cy)")
    expect(page.get_by_role("button", name="Switch to Cymraeg?")).to_be_visible()
    page.get_by_role("button", name="Switch to Cymraeg?").click()
    expect(pane.locator(".language-help")).to_contain_text("No machine translation is available here.")
    expect(pane.get_by_role("button", name="Translate my draft")).to_be_hidden()
    assert pane.get_by_role("button", name="Translate", exact=True).count() == 0
    screenshot(console, "console-no-translation")
    page.context.close()
    console.context.close()
