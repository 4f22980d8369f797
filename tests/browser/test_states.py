"""Honest states and plain words, in the widget on a helpline's page of another origin and in the
console: nobody on shift, errors in plain words, a way back, Escape, tap-to-call, translated
launcher and title, numbers kept left to right in Arabic, direction characters contained and
flagged, triage answers by name, and one status on every staff page. Desktop and 360 px, English
and Arabic, axe-core on every state."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation
from playwright.sync_api import expect

from tests.support.browser import SCREENSHOTS, axe_violations, screenshot
from tests.support.console import Staff, on_shift, sign_in
from tests.support.host import HostSite, product_and_host
from tests.support.live import LiveServer

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
RLO = "\u202e"

# The helpline's page: one script tag, no title of its own, so the launcher is the product's.
HOST_PAGE = """<!doctype html><html lang="{language}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Community services</title></head>
<body><main><h1>Community services</h1><p>Libraries and advice.</p></main>
<script src="{product}/widget.js" async data-language="{language}" data-exit-url="{exit_url}"></script>
</body></html>"""


class PlainHost(HostSite):
    """The helpline's site, with a page (/plain?lang=xx) whose script tag sets no title."""

    def page(self, path: str) -> tuple[int, str]:
        if path.startswith("/plain"):
            language = path.split("lang=", 1)[1] if "lang=" in path else "en"
            return 200, HOST_PAGE.format(language=language, product=self.product_url, exit_url=self.exit_url)
        return super().page(path)


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, HostSite]]:
    """The product, and a helpline's site allowed to embed it."""
    with product_and_host(tmp_path_factory.mktemp("states"), host_class=PlainHost) as both:
        yield both


def said(language: str, text: str, **values: Any) -> str:
    with translation.override(language):
        out = translation.gettext(text)
    return out % values if values else out


def no_violations(target: Any, state: str) -> None:
    violations = axe_violations(target)
    assert violations == [], f"{state}: {violations}"


def open_widget(browser: Any, host: HostSite, language: str, viewport: dict[str, int]) -> tuple[Any, Any, Any, Any]:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(f"{host.url}/plain?lang={language}")
    launcher = page.get_by_role("button", name=said(language, "Chat"), exact=True)
    expect(launcher).to_be_visible()
    launcher.click()
    chat = page.frame_locator("iframe")
    chat.locator("html[data-ready]").wait_for(state="attached")
    frame = next(f for f in page.frames if "/widget/frame/" in f.url)
    return context, page, chat, frame


def reads_left_to_right(frame: Any, selector: str, first: str, last: str) -> bool:
    """Whether `first` is drawn to the left of `last` in the element's text (visual order)."""
    return bool(
        frame.locator(selector).first.evaluate(
            """(node, [first, last]) => {
                const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
                let text;
                while ((text = walker.nextNode())) {
                    if (text.data.includes(first) && text.data.includes(last)) break;
                }
                const at = (s, from) => { const r = document.createRange(); const i = text.data.indexOf(s, from);
                  r.setStart(text, i); r.setEnd(text, i + s.length); return r.getBoundingClientRect(); };
                return at(first, 0).left < at(last, text.data.indexOf(first) + first.length).left;
            }""",
            [first, last],
        )
    )


@pytest.mark.parametrize("language", ["en", "ar"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "360"])
def test_honest_states_in_the_widget(
    sites: tuple[LiveServer, HostSite], browser: Any, language: str, viewport: dict[str, int]
) -> None:
    server, host = sites
    size = f"{language}-{'360' if viewport == PHONE else 'desktop'}"
    # Nobody on shift (the advisors of earlier tests included), and no chat of theirs left open to
    # come back to the queue when their console's grace period ends.
    server.shell(
        "from agents.models import StaffProfile; from chat.models import Conversation; "
        "StaffProfile.objects.update(availability='off_shift'); "
        "Conversation.objects.exclude(state='closed').update(state='closed')"
    )
    context, page, chat, frame = open_widget(browser, host, language, viewport)
    no_violations(page, "host page")

    # The frame's title and bar are in the page's language; Escape minimises, the launcher reopens.
    assert frame.title() == said(language, "Chat")
    expect(chat.locator(".bar .title")).to_have_text(said(language, "Chat"))
    expect(chat.locator("#notice-heading")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("[data-helpline-chat] >> .panel")).to_be_hidden()
    launcher = page.get_by_role("button", name=said(language, "Chat"), exact=True)
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(launcher).to_be_focused()
    launcher.click()
    expect(chat.locator("#notice-heading")).to_be_focused()
    # Escape on the helpline's page, with the launcher focused, minimises too.
    launcher.focus()
    page.keyboard.press("Escape")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    launcher.click()
    chat.locator("#notice-ok").click()

    # A required answer left out: the error is inside the question, read with the focused answer.
    chat.locator("#triage-form button[type=submit]").click()
    error = chat.locator("#triage-error")
    expect(error).to_have_text(
        said(language, "Please answer: %(question)s", question=said(language, "Are you in danger right now?"))
    )
    focused = chat.locator("fieldset[data-key=in_danger] input").first
    expect(focused).to_be_focused()
    expect(focused).to_have_attribute("aria-describedby", "triage-error")
    assert chat.locator("fieldset[data-key=in_danger] #triage-error").count() == 1
    no_violations(frame, f"{size} answer missing")
    screenshot(page, f"states-answer-missing-{size}")

    # In danger: 999 is a tap-to-call link, read left to right.
    chat.locator("input[name=in_danger][value=yes]").check()
    call = chat.locator("#danger-help a[href='tel:999']")
    expect(call).to_be_visible()
    expect(call).to_have_attribute("dir", "ltr")
    chat.locator("input[name=safe_to_talk][value=yes]").check()
    # A value no question offers (as a tampered page would send) gets a plain sentence back.
    chat.locator("input[name=about][value=myself]").evaluate(
        "input => { input.value = 'not a value!'; input.checked = true; }"
    )
    chat.locator("input[name=region][value=wales]").check()
    chat.locator("#triage-form button[type=submit]").click()
    expect(chat.locator("#options-heading")).to_be_visible()

    # Help near you: numbers stay left to right inside Arabic; a way back to the questions.
    phone = chat.locator("#options a[href='tel:08082000247']")
    expect(phone).to_have_text("0808 2000 247")
    expect(phone).to_have_attribute("dir", "ltr")
    assert reads_left_to_right(frame, "#options .service a[href='tel:08082000247']", "0808", "247")
    no_violations(frame, f"{size} directory")
    screenshot(page, f"states-directory-{size}")
    chat.locator("#options").screenshot(path=str(SCREENSHOTS / f"states-directory-card-{size}.png"))
    chat.locator("#back-to-questions").click()
    expect(chat.locator("#triage-heading")).to_be_focused()
    expect(chat.locator("input[name=region][value=wales]")).to_be_checked()
    chat.locator("#triage-form button[type=submit]").click()

    # Leaving with the information keeps the way to chat, and says nothing untrue.
    chat.locator("#leave-with-info").click()
    expect(chat.locator("#left-note")).to_be_visible()
    expect(chat.locator("#left-note")).not_to_contain_text(
        said(language, "Take care. You can come back to chat at any time.")
    )
    expect(chat.locator("#talk")).to_be_visible()
    no_violations(frame, f"{size} left with information")
    chat.locator("#talk").click()
    expect(chat.locator("#triage-heading")).to_be_visible()
    expect(chat.locator("#triage-error")).to_have_text(
        said(language, "Some answers could not be used. Please check them and try again.")
    )
    page_text = chat.locator("body").inner_text()
    assert "answers." not in page_text and "String should" not in page_text and "constrained" not in page_text
    no_violations(frame, f"{size} answer refused")
    screenshot(page, f"states-answer-refused-{size}")
    chat.locator("input[name=about]").first.evaluate("input => { input.value = 'myself'; }")
    chat.locator("#triage-form button[type=submit]").click()
    chat.locator("#talk").click()

    # Nobody on shift: said plainly, no estimate, the 24-hour lines, and the choice to wait.
    nobody = chat.locator("#nobody")
    expect(nobody).to_be_visible()
    expect(chat.locator("#nobody-heading")).to_be_focused()
    expect(chat.locator("#position")).to_contain_text(said(language, "We can't say how long the wait will be."))
    expect(nobody.locator("[data-directory]")).to_contain_text(said(language, "Open now: 24-hour lines"))
    expect(nobody.locator("a[href='tel:999']")).to_be_visible()
    assert reads_left_to_right(frame, "#nobody .service a[href='tel:08082000247']", "0808", "247")
    no_violations(frame, f"{size} nobody on shift")
    screenshot(page, f"states-nobody-on-shift-{size}")
    chat.locator("#waiting").screenshot(path=str(SCREENSHOTS / f"states-nobody-on-shift-card-{size}.png"))
    chat.locator("#keep-waiting").click()
    expect(chat.locator("#waiting-chosen")).to_be_focused()
    expect(chat.locator("#keep-waiting")).to_be_hidden()

    # Someone comes on shift: the visitor is told, with an estimate.
    advisor = Staff(server, name="Dana")
    console = browser.new_context(viewport=viewport).new_page()
    sign_in(console, server, advisor)
    on_shift(console)
    expect(nobody).to_be_hidden()
    expect(chat.locator("#position")).to_contain_text(said(language, "An advisor is available now."))
    expect(chat.locator("#position")).not_to_contain_text(said(language, "We can't say how long the wait will be."))

    # The console names the triage answers as staff know them, not by their codes.
    language_name = {"en": "English (en)", "ar": "Arabic (ar)"}[language]
    item = console.locator(".queue-item", has_text=f"Language: {language_name}")
    expect(item).to_contain_text(f"Language: {language_name}")
    expect(item).to_contain_text("Region: Wales")
    expect(item).to_contain_text("About: Themselves")
    console.get_by_role("button", name="Take next chat").click()
    pane = console.locator(".chat-pane:not([hidden])")
    triage = pane.locator(".triage dl")
    expect(triage).to_contain_text("Wales")
    expect(triage).to_contain_text(language_name)
    assert "wales" not in triage.inner_text()

    # A message with a right-to-left override reorders nothing after it, on either side, and the
    # advisor is told it holds direction characters; a number in Arabic text stays in order.
    message = chat.locator("#message")
    message.fill(f"call 0808 2000 247 {RLO}then this")
    message.press("Enter")
    entry = pane.locator(".transcript li", has_text="then this")
    expect(entry.locator(".bidi-warning")).to_contain_text("Hidden direction characters (RLO)")
    expect(entry.locator(".text")).to_have_attribute("dir", "auto")
    stamp = entry.locator("time").inner_text()
    assert reads_left_to_right(
        console.main_frame, f".transcript li[data-seq='{entry.get_attribute('data-seq')}'] time", stamp[:2], stamp[-2:]
    )
    assert reads_left_to_right(
        console.main_frame, f".transcript li[data-seq='{entry.get_attribute('data-seq')}'] .text", "0808", "247"
    )
    composer = pane.get_by_label("Message", exact=True)
    composer.fill("اتصلي على 0808 2000 247 الآن")
    composer.press("Enter")
    theirs = chat.locator("#transcript li.theirs", has_text="0808")
    expect(theirs.locator(".text")).to_have_attribute("dir", "auto")
    assert reads_left_to_right(frame, "#transcript li.theirs .text", "0808", "247")
    mine = chat.locator("#transcript li.mine", has_text="then this")
    expect(mine.locator(".state")).to_be_visible()
    state_text = mine.locator(".state").inner_text()
    assert reads_left_to_right(frame, "#transcript li.mine .state", state_text[0], state_text[-1]) or language == "ar"
    no_violations(frame, f"{size} chatting")
    no_violations(console, f"{size} console chatting")
    screenshot(page, f"states-chatting-{size}")
    screenshot(console, f"states-console-chatting-{size}")

    # A refused message is told in plain words, never the server's own.
    frame.evaluate("""() => { const box = document.getElementById('message'); box.value = 'bad \\u0000 text';
        document.getElementById('composer').requestSubmit(); }""")
    expect(chat.locator("#send-error")).to_have_text(
        said(language, "Your message could not be sent. Please try again.")
    )
    expect(chat.locator("#send-error")).not_to_contain_text("NUL")
    no_violations(frame, f"{size} send refused")
    context.close()
    console.context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "360"])
def test_one_status_on_every_staff_page(
    sites: tuple[LiveServer, HostSite], browser: Any, viewport: dict[str, int]
) -> None:
    server, _host = sites
    size = "360" if viewport == PHONE else "desktop"
    supervisor = Staff(server, role="supervisor", name="Sam")
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    sign_in(page, server, supervisor)
    status = page.get_by_label("Status")
    expect(page.locator("#load")).to_contain_text("of 3 chats")
    status.select_option("away")
    server_value = (
        "from agents.models import StaffProfile; "
        f"print(StaffProfile.objects.get(user__username={supervisor.username!r}).availability)"
    )
    for _ in range(50):
        if server.shell(server_value).strip() == "away":
            break
        page.wait_for_timeout(100)

    # Reports and referrals show the status the server holds, and a change there is saved.
    for path, name in (("/console/reports/", "reports"), ("/risk/referrals/", "referrals")):
        page.goto(f"{server.url}{path}")
        expect(status).to_have_value("away")
        expect(page.locator("#status-save")).to_be_hidden()  # saved as soon as it changes
        no_violations(page, f"{name} status")
        screenshot(page, f"states-status-{name}-{size}")
    status.select_option("off_shift")
    expect(page.locator("#status-note")).to_have_text("Saved: Off shift.")
    assert server.shell(server_value).strip() == "off_shift"
    page.goto(f"{server.url}/console/reports/")
    expect(status).to_have_value("off_shift")
    page.goto(f"{server.url}/console/supervisor/")
    expect(status).to_have_value("off_shift")
    expect(page.locator("#load")).to_contain_text("of 3 chats")
    expect(status).to_have_value("off_shift")
    status.select_option("on_shift")
    page.goto(f"{server.url}/risk/referrals/")
    expect(status).to_have_value("on_shift")

    # Changed in another tab: shown again when this page is looked at.
    other = context.new_page()
    other.goto(f"{server.url}/console/reports/")
    other.get_by_label("Status").select_option("away")
    expect(other.locator("#status-note")).to_have_text("Saved: Away.")
    page.bring_to_front()
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(status).to_have_value("away")
    context.close()


def test_a_launcher_titled_by_the_helpline_keeps_its_words(sites: tuple[LiveServer, HostSite], browser: Any) -> None:
    _server, host = sites
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{host.url}/?lang=ar")
    expect(page.get_by_role("button", name="Talk to us")).to_be_visible()
    context.close()


def test_no_stray_text(sites: tuple[LiveServer, HostSite]) -> None:
    assert re.match(r"^http://127\.0\.0\.1:\d+$", sites[1].url)
