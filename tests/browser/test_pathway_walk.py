"""The multi-agency pathway walked through in Chromium, as the people in it would: a visitor in
the chat page says what happened; the advisor takes the chat, answers the risk checklist to a
high score and offers a return phrase at the end; MARAC and IDVA referrals are drafted from the
case page and submitted; a supervisor reviews, accepts and delivers each to its agency through a
real SMTP server; each agency opens its link with the code from the other email, in a browser
with no staff session; the receipts show on the referral pages; the MARAC referral is listed,
heard and its actions recorded. The visitor comes back from another device, gives the phrase in
a new chat, agrees to the link, and the case shows both chats and meets the repeat criterion
once a new incident is recorded. Every page the pathway added passes axe-core."""

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import axe_violations, screenshot
from tests.support.checklist import YES_IN_ORDER, Console
from tests.support.console import Staff, on_shift, sign_in
from tests.support.live import LiveServer
from tests.support.smtp import Mailbox, server_sending_to

REGION = "South Wales"  # the directory's region "south-wales", as the chat page names it
PHRASE = re.compile(r"\b[a-z]+ [a-z]+ [a-z]+ [a-z]+\b")


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Mailbox, LiveServer]]:
    box = Mailbox()
    with server_sending_to(box, tmp_path_factory.mktemp("walk")) as server:
        # Set-up: the directory (an area serving the region, an agency of each kind), made before
        # any visitor asks for the triage questions, so the chat page offers the region.
        server.shell("from tests.factories.risk import directory; directory('Cardiff', ('south-wales',))")
        yield box, server


def staff_page(browser: Any, server: LiveServer, who: Staff) -> Any:
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.set_default_timeout(20_000)
    sign_in(page, server, who)
    return page


def visit(browser: Any, server: LiveServer) -> Any:
    """A visitor on a phone of their own (a new browser context) through the notice and the
    questions, with the region chosen, queued for an advisor."""
    page = browser.new_context(viewport={"width": 400, "height": 800}).new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{server.url}/chat/")
    page.get_by_role("button", name="I understand").click()
    page.get_by_role("group", name="Are you in danger right now?").get_by_label("No").check()
    page.get_by_role("group", name="Is it safe for you to chat now?").get_by_label("Yes").check()
    page.get_by_label("Me", exact=True).check()
    page.get_by_label("Someone to talk to").check()
    page.get_by_role("group", name=re.compile("^Where are you?")).get_by_label(REGION).check()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Talk to an advisor").click()
    expect(page.locator("#position")).to_contain_text("You are number 1 in the queue")
    return page


def say(visitor: Any, text: str) -> None:
    visitor.get_by_label("Your message").fill(text)
    visitor.get_by_label("Your message").press("Enter")
    expect(visitor.locator("#transcript li.mine", has_text=text)).to_have_count(1)


def take(console: Any, visitor: Any, advisor: Staff) -> Any:
    """The advisor takes the next chat; returns its pane."""
    console.get_by_role("button", name="Take next chat").click()
    expect(visitor.locator("#transcript")).to_contain_text(f"You are now talking to {advisor.name}.")
    return console.locator(".chat-pane:not([hidden])")


def checked(page: Any, name: str) -> None:
    """A screenshot to look at, and axe-core's rules all passed."""
    screenshot(page, f"pathway-walk-{name}")
    assert axe_violations(page) == []


def draft(case: Any, button: str, heading: str, field: str, value: str) -> str:
    """From the case page: a referral drafted, a field filled, saved and submitted; its id."""
    case.get_by_role("button", name=button).click()
    expect(case.get_by_role("heading", level=1)).to_have_text(re.compile(f"^{heading} [MI]-"))
    case.get_by_label(field).fill(value)
    case.get_by_role("button", name="Save").click()
    expect(case.get_by_label(field)).to_have_value(value)
    case.get_by_role("button", name="Submitted").click()
    expect(case.locator("#referral-state")).to_have_text("Submitted")
    return str(re.search(r"/risk/referrals/([0-9a-f-]+)/", case.url).group(1))  # type: ignore[union-attr]


def review_and_deliver(sup: Any, server: LiveServer, referral_id: str, agency: str) -> None:
    sup.goto(f"{server.url}/risk/referrals/{referral_id}/")
    sup.get_by_role("button", name="Under review").click()
    expect(sup.locator("#referral-state")).to_have_text("Under review")
    sup.get_by_role("button", name="Accepted").click()
    expect(sup.locator("#referral-state")).to_have_text("Accepted")
    sup.get_by_role("button", name=f"Deliver to {agency}").click()
    expect(sup.locator("#deliveries")).to_contain_text("Sent, not opened yet")


def letters(box: Mailbox, address: str) -> tuple[str, str]:
    """The link and the code sent to `address`, each from its own email."""
    bodies = [str(m.get_payload(decode=True).decode()) for m in box.messages if m["To"] == address]  # type: ignore[union-attr]
    assert len(bodies) == 2, bodies
    link = re.search(r"http://127\.0\.0\.1:\d+/r/[A-Za-z0-9_-]+/", bodies[0])
    code = re.search(r"\b\d{4} \d{4}\b", bodies[1])
    assert link and code
    return link.group(0), code.group(0)


def open_as_agency(browser: Any, link: str, code: str, name: str) -> None:
    """The agency, in a browser of its own with no staff session, opens the link with its code."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(link)
    expect(page.get_by_role("heading", name="A referral for your agency")).to_be_visible()
    checked(page, f"{name}-code-asked")
    page.get_by_label("One-time code").fill(code)
    page.get_by_role("button", name="Open the referral").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Referral [MI]-"))
    expect(page.locator("#delivery-opened")).to_be_visible()
    checked(page, f"{name}-opened")
    context.close()


@pytest.mark.timeout(600)  # two chats, two deliveries, an outcome and a dozen axe runs on a shared machine
def test_the_multi_agency_pathway_from_a_chat_to_a_returning_visitor(
    walk: tuple[Mailbox, LiveServer], browser: Any
) -> None:
    box, server = walk
    advisor, supervisor = Staff(server, name="Rae"), Staff(server, role="supervisor", name="Kim")
    console = staff_page(browser, server, advisor)
    on_shift(console)

    # A high-risk chat: the visitor tells the advisor; the advisor answers the checklist.
    visitor = visit(browser, server)
    pane = take(console, visitor, advisor)
    say(visitor, "He put his hands round my neck last week and says he will kill me")
    expect(pane.locator(".transcript")).to_contain_text("hands round my neck")
    conversation_id = server.shell(
        "from chat.models import Conversation; print(Conversation.objects.latest('created_at').pk)"
    ).strip()
    chat = Console(server, console, conversation_id)
    panel = chat.panel
    panel.get_by_role("button", name="Start the risk checklist").click()
    title = panel.get_by_role("heading", name=re.compile(r"^Risk checklist · case C-"))
    expect(title).to_be_visible()
    reference = title.inner_text().split()[-1]
    for key in YES_IN_ORDER:
        chat.answer(key)
    expect(panel.locator(".live")).to_contain_text("Level: High")
    expect(panel.locator(".live .criterion")).to_contain_text("Visible high risk (score 14)")

    # At the end of the chat, a return phrase: shown once to the advisor, who reads it out (the
    # test keeps the words as the visitor would remember them); nothing of it reaches the visitor.
    panel.get_by_role("button", name="Offer a return phrase").click()
    words = panel.locator(".phrase-words").inner_text()
    assert PHRASE.fullmatch(words)
    panel.get_by_role("button", name="I have read it to the visitor").click()
    expect(panel.locator(".phrase-words")).to_have_count(0)
    assert words not in visitor.content()
    visitor.get_by_role("button", name="End chat").click()
    visitor.get_by_role("button", name="Yes, end the chat").click()
    expect(pane.locator(".transcript")).to_contain_text("ended")
    visitor.context.close()

    # MARAC and IDVA referrals drafted from the case page, each to the region's agency.
    with console.context.expect_page() as opened:
        panel.get_by_role("link", name="Open the case record").click()
    case = opened.value
    case.set_default_timeout(20_000)
    case_url = case.url
    expect(case.get_by_role("heading", name=f"Case {reference}")).to_be_visible()
    expect(case.locator("#destination-marac")).to_have_text("To Cardiff MARAC coordinator (Cardiff)")
    expect(case.locator("#destination-idva")).to_have_text("To Cardiff IDVA service (Cardiff)")
    checked(case, "case-first-chat")
    marac = draft(case, "Draft a MARAC referral", "MARAC referral", "Forenames", "Aderyn")
    expect(case.locator("#referral-destination")).to_have_text(re.compile(r"To Cardiff MARAC coordinator \(Cardiff\)"))
    case.goto(case_url)
    idva = draft(
        case, "Draft an IDVA referral", "IDVA referral", "What support the victim wants from an IDVA", "A safe place"
    )
    expect(case.locator("#referral-destination")).to_have_text(re.compile(r"To Cardiff IDVA service \(Cardiff\)"))

    # A supervisor reviews, accepts and delivers each; the agencies open them with their codes.
    sup = staff_page(browser, server, supervisor)
    review_and_deliver(sup, server, marac, "Cardiff MARAC coordinator")
    checked(sup, "marac-delivered")
    review_and_deliver(sup, server, idva, "Cardiff IDVA service")
    assert not [body for body in box.bodies() if "Aderyn" in body]  # the emails name no one
    open_as_agency(browser, *letters(box, "marac@cardiff.example.org"), "marac-agency")
    open_as_agency(browser, *letters(box, "idva@cardiff.example.org"), "idva-agency")
    sup.reload()
    expect(sup.locator("#deliveries")).to_contain_text("Receipt: opened")
    expect(sup.locator("#deliveries")).to_contain_text("by Cardiff IDVA service")
    # Sent by the delivery itself: an IDVA referral is not listed for a meeting.
    expect(sup.locator("#referral-state")).to_have_text("Sent to the agency")
    expect(sup.get_by_role("button", name="Sent to the agency")).to_have_count(0)
    checked(sup, "idva-receipt")

    # The MARAC referral: its receipt, listed for a meeting, heard, the actions recorded.
    sup.goto(f"{server.url}/risk/referrals/{marac}/")
    expect(sup.locator("#deliveries")).to_contain_text("Receipt: opened")
    expect(sup.locator("#deliveries")).to_contain_text("by Cardiff MARAC coordinator")
    today = date.today()  # noqa: DTZ011  (the server's day, on this machine)
    sup.get_by_label("Meeting date (to list it)").fill(today.isoformat())
    sup.get_by_role("button", name="Listed for a meeting").click()
    expect(sup.locator("#referral-state")).to_have_text("Listed for a meeting")
    checked(sup, "marac-listed")
    sup.get_by_label("What the meeting decided").fill("Safety plan agreed; a marker on the address")
    sup.get_by_label("Action 1: what is to be done").fill("Contact the victim within a week")
    sup.get_by_label("Action 1: agency that owns it").select_option(
        label="Cardiff IDVA service (IDVA service, Cardiff)"
    )
    sup.get_by_label("Action 1: due by").fill((today + timedelta(days=7)).isoformat())
    sup.get_by_role("button", name="Record the outcome").click()
    expect(sup.locator("#referral-state")).to_have_text("Heard")
    expect(sup.locator("#marac-actions")).to_contain_text("Contact the victim within a week")
    expect(sup.locator("#marac-actions")).to_contain_text("Cardiff IDVA service")
    checked(sup, "marac-heard")

    # Set-up for the repeat rule, which counts incidents dated strictly after the day the case's
    # last referral was submitted: the whole walk happens today, and the case page refuses an
    # incident dated after today, so the referrals are moved back to their submission a month ago
    # (through the ORM) rather than the new incident forward.
    server.shell(
        "from datetime import timedelta; from django.db.models import F; from risk.models import Referral; "
        f"Referral.objects.filter(case__reference={reference!r})"
        ".update(submitted_at=F('submitted_at') - timedelta(days=30))"
    )

    # The visitor comes back on another device, gives the phrase in a new chat and agrees to the link.
    returning = visit(browser, server)
    pane = take(console, returning, advisor)
    say(returning, f"I have been here before. My words are {words}")
    say(returning, "Yes, you can link this chat to my earlier one. He came to the flat again today")
    said = pane.locator(".transcript .entry", has_text="My words are")
    expect(said).to_have_count(1)
    given = PHRASE.search(said.inner_text().split("My words are", 1)[1])
    assert given
    panel = console.locator(".chat-pane:not([hidden]) .risk-panel")
    link = panel.get_by_role("group", name="Returning visitor with a return phrase")
    link.get_by_label("Return phrase the visitor gives").fill(given.group(0))
    link.get_by_label("The visitor agrees to link this chat to their earlier case").check()
    link.get_by_role("button", name="Link with the return phrase").click()
    expect(panel.get_by_role("heading", name=f"Risk checklist · case {reference}")).to_be_visible()
    expect(panel.get_by_role("status").filter(has_text="by the visitor's return phrase")).to_contain_text(
        f"This chat joined case {reference}"
    )
    checked(console, "console-linked")
    # The words it typed are masked on both screens at once, as in the log.
    expect(said).to_contain_text("My words are [return phrase removed]")
    expect(returning.locator("#transcript")).to_contain_text("My words are [return phrase removed]")
    expect(returning.locator("#transcript")).not_to_contain_text(words)
    screenshot(returning, "pathway-walk-visitor-phrase-masked")

    # The case holds both chats; the new incident is recorded and the repeat criterion is met.
    case.goto(case_url)
    expect(case.locator("#conv-heading + ul li")).to_have_count(2)
    expect(case.locator("#return-phrases").get_by_role("row").nth(1)).to_contain_text("Live")
    criteria = case.locator("#assess-heading + table")
    expect(criteria).not_to_contain_text("Repeat")
    incidents = case.get_by_role("region", name="Incidents (police or agency)")
    incidents.get_by_label("Date", exact=True).fill(today.isoformat())
    incidents.get_by_label("Note", exact=True).fill("Came to the flat again, told in the second chat")
    incidents.get_by_role("button", name="Add incident").click()
    expect(case.locator("#incidents")).to_contain_text("Came to the flat again")
    expect(criteria).to_contain_text("Visible high risk")
    expect(criteria).to_contain_text("Repeat")
    assert words not in case.content()
    checked(case, "case-returned")
    returning.context.close()
    case.context.close()
    sup.context.close()
