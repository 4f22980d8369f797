"""Quick exit as a visitor meets it, with the widget on a helpline's page of another origin:
typing never triggers it and three lone Shifts always do (on the host page and in the frame),
with a visible, announced count; no tab of ours outlives it; what Back shows afterwards; and a
link never decides the title or the exit. Desktop and 360 px, English and Arabic, axe on each state."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_widget import DESKTOP, PHONE, frame_of, no_violations
from tests.support.browser import screenshot
from tests.support.host import HostSite, product_and_host
from tests.support.live import LiveServer

SHIFTED = set('ABCDEFGHIJKLMNOPQRSTUVWXYZ?!@#$%^&*()_+{}:"<>|~')
VIEWS = [(DESKTOP, "en"), (PHONE, "ar")]
VIEW_IDS = ["desktop-en", "360-ar"]


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, HostSite]]:
    """The product, and a helpline's site allowed to embed it."""
    with product_and_host(tmp_path_factory.mktemp("exit")) as both:
        yield both


def type_like_a_person(page: Any, text: str, *, overlap: bool = False) -> None:
    """Capitals and symbols with Shift held, as a keyboard sends them; `overlap` releases Shift
    before the letter, as fast typists do."""
    keyboard = page.keyboard
    for char in text:
        key = "Space" if char == " " else char
        if char not in SHIFTED:
            keyboard.press(key)
        elif overlap:
            keyboard.down("Shift")
            keyboard.down(key)
            keyboard.up("Shift")
            keyboard.up(key)
        else:
            keyboard.down("Shift")
            keyboard.press(key)
            keyboard.up("Shift")


def lone_shifts(page: Any, times: int) -> None:
    for _ in range(times):
        page.keyboard.press("Shift")


def still_here(page: Any, host: HostSite) -> None:
    page.wait_for_timeout(600)  # quick exit would have left well within this
    assert page.url.startswith(f"{host.url}/?") or page.url == f"{host.url}/"
    expect(page.locator("[data-helpline-chat] .launcher")).to_be_visible()


def open_widget(page: Any, host: HostSite, language: str) -> Any:
    page.goto(f"{host.url}/?lang={language}")
    page.locator("[data-helpline-chat] .launcher").click()
    return frame_of(page)


def answer_first_options(frame: Any) -> None:
    """Any language: the first option of every radio question (not in danger is not needed)."""
    for fieldset in frame.locator("#questions fieldset").all():
        fieldset.locator("input").first.check()


def to_the_queue(frame: Any) -> None:
    frame.locator("#notice-ok").click()
    frame.locator("#questions fieldset").first.wait_for()
    answer_first_options(frame)
    frame.locator("#triage-form button[type=submit]").click()
    frame.locator("#talk").click()
    expect(frame.locator("#message")).to_be_visible()


@pytest.mark.parametrize(("viewport", "language"), [*VIEWS, (PHONE, "en"), (DESKTOP, "ar")])
def test_typing_never_exits_in_the_frame_and_three_lone_shifts_do(
    sites: tuple[LiveServer, HostSite], browser: Any, viewport: Any, language: str
) -> None:
    _server, host = sites
    size = "360" if viewport == PHONE else "desktop"
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    frame = open_widget(page, host, language)
    frame.locator("#notice-ok").click()
    # Keyboard users move backwards through the triage form.
    first = frame.locator("#questions input").first
    first.wait_for()
    frame.locator("#triage-form button[type=submit]").focus()
    for _ in range(3):
        page.keyboard.press("Shift+Tab")
    still_here(page, host)
    expect(frame.locator("#exit-count")).to_have_text("")

    answer_first_options(frame)
    frame.locator("#triage-form button[type=submit]").click()
    frame.locator("#talk").click()
    message = frame.locator("#message")
    expect(message).to_be_visible()
    message.click()
    type_like_a_person(page, "I think He Is home. Can You call? OK")
    type_like_a_person(page, "I Think HE IS HOME", overlap=True)
    page.keyboard.press("Shift+Enter")
    page.keyboard.press("Shift+Enter")
    type_like_a_person(page, "??? !!")
    page.keyboard.press("Shift+Enter")
    still_here(page, host)
    expect(message).to_have_value(
        re.compile(r"^I think He Is home\. Can You call\? OKI Think HE IS HOME\n\n\?\?\? !!\n$")
    )

    # Two lone Shifts: a visible count that screen readers announce; a key in between resets it.
    lone_shifts(page, 1)
    count = frame.locator("#exit-count")
    expect(count).to_have_attribute("role", "status")
    expect(count).to_contain_text("●○○")
    if language == "en":
        expect(count).to_contain_text("Press it 2 more times to leave this site.")
    lone_shifts(page, 1)
    expect(count).to_contain_text("●●○")
    if language == "en":
        expect(count).to_contain_text("Press Shift 1 more time to leave this site.")
    no_violations(frame, f"shift count ({language})")
    screenshot(page, f"quick-exit-count-frame-{language}-{size}")
    page.keyboard.press("a")
    expect(count).to_have_text("")
    lone_shifts(page, 2)
    page.keyboard.press("Shift+Tab")
    expect(count).to_have_text("")
    still_here(page, host)

    lone_shifts(page, 3)
    expect(page).to_have_url(f"{host.url}/weather")
    assert len(context.pages) == 1
    context.close()


@pytest.mark.parametrize(("viewport", "language"), VIEWS, ids=VIEW_IDS)
def test_typing_never_exits_on_the_host_page_and_three_lone_shifts_do(
    sites: tuple[LiveServer, HostSite], browser: Any, viewport: Any, language: str
) -> None:
    _server, host = sites
    size = "360" if viewport == PHONE else "desktop"
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(f"{host.url}/?lang={language}")
    page.locator("[data-helpline-chat] .launcher").wait_for()
    page.locator("#search").focus()
    type_like_a_person(page, "Gardening Club? Opening Hours")
    type_like_a_person(page, "When IS it", overlap=True)
    for _ in range(3):
        page.keyboard.press("Shift+Tab")
    page.locator("#search").focus()
    page.keyboard.press("Shift+Enter")
    still_here(page, host)

    count = page.locator("[data-helpline-chat] .count")
    lone_shifts(page, 1)
    expect(count).to_contain_text("●○○")
    lone_shifts(page, 1)
    expect(count).to_contain_text("●●○")
    expect(count).to_contain_text("Press Shift 1 more time" if language == "en" else "مرة واحدة أخرى")
    no_violations(page, f"host shift count ({language})")
    screenshot(page, f"quick-exit-count-host-{language}-{size}")
    # The three must come within 5 seconds.
    page.wait_for_timeout(5200)
    expect(count).to_have_text("")
    lone_shifts(page, 1)
    still_here(page, host)
    page.keyboard.press("?")
    lone_shifts(page, 2)
    still_here(page, host)
    lone_shifts(page, 1)
    expect(page).to_have_url(f"{host.url}/weather")
    context.close()


def test_leaving_works_before_the_page_modules_arrive(sites: tuple[LiveServer, HostSite], browser: Any) -> None:
    """On a slow connection the button shows before the modules run: a press, or three lone
    Shifts, must still leave, in the widget's frame, on our own chat page and on the
    staying-safe page."""
    server, host = sites
    context = browser.new_context(viewport=PHONE)
    held: list[Any] = []
    # Every module stays in flight, as on a connection that stalls after the page itself.
    context.route(re.compile(r"/static/visitor/(?!exit-first\.js)[\w-]+\.js"), lambda route: held.append(route))
    page = context.new_page()

    page.goto(f"{host.url}/")
    page.get_by_role("button", name="Talk to us").click()
    chat = page.frame_locator("iframe")
    chat.get_by_role("button", name="Leave this site").click()
    expect(page).to_have_url(f"{host.url}/weather")

    page.goto(f"{host.url}/")
    page.get_by_role("button", name="Talk to us").click()
    page.frame_locator("iframe").locator("#notice-heading").click()  # the keys go to the frame
    lone_shifts(page, 2)
    expect(page.frame_locator("iframe").locator("#exit-count")).to_contain_text("Press Shift 1 more time")
    lone_shifts(page, 1)
    expect(page).to_have_url(f"{host.url}/weather")

    for path in ("/chat/", "/staying-safe/"):
        page.goto(f"{server.url}{path}", wait_until="commit")  # "load" waits for the modules
        expect(page.get_by_role("button", name="Leave this site")).to_be_visible()
        assert page.locator("html[data-ready]").count() == 0  # the chat's modules have not run
        page.get_by_role("button", name="Leave this site").click()
        expect(page).to_have_url(re.compile(r"/\?left=1$"))
    assert held, "the modules were never held back"
    assert context.cookies() == []
    context.close()
