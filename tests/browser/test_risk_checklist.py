"""The whole checklist in the console, in Chromium: the version chosen by the visitor's age, the
details a yes asks for (tick which), the professional's section, a prompt to consider judgement
below the threshold, the children's safeguarding decision, and the MARAC referral; the young
people's version saying MARAC is for victims aged 16 and over. Keyboard focus stays on the
control the advisor was on when a save redraws the panel."""

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import SCREENSHOTS, axe_violations, screenshot
from tests.support.checklist import YES_IN_ORDER, Console
from tests.support.console import Staff, close_open_chats, on_shift, sign_in, take_new_chat
from tests.support.live import LiveServer
from tests.support.visitor import LiveVisitor


@pytest.fixture
def console(server: LiveServer, browser: Any) -> Iterator[Callable[[int], Console]]:
    """An advisor on shift who has taken a new visitor's chat; the width is the caller's."""
    opened: list[tuple[Any, LiveVisitor]] = []

    def open_console(width: int) -> Console:
        advisor = Staff(server, name="Noor")
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        sign_in(page, server, advisor)
        on_shift(page)
        close_open_chats(server)
        visitor = LiveVisitor(server.ws_url, server.url)
        opened.append((context, visitor))
        return Console(server, page, take_new_chat(page, visitor))

    yield open_console
    for context, visitor in opened:
        visitor.end()
        visitor.close()
        context.close()


def panel_screenshot(console: Console, name: str) -> None:
    """The whole panel, its list of questions unrolled, beside the page as the advisor sees it."""
    screenshot(console.page, name)
    items = console.panel.locator(".items")
    items.evaluate("node => { node.style.maxHeight = 'none'; }")
    console.panel.screenshot(path=str(SCREENSHOTS / f"{name}-panel.png"))
    items.evaluate("node => { node.style.maxHeight = ''; }")


def test_checklist_with_details_professional_section_and_safeguarding_to_referral(console: Any) -> None:
    c = console(1280)
    page, panel = c.page, c.panel
    versions = c.state()["versions"]
    adult = next(v for v in versions if v["audience"]["key"] == "adult")
    choice = panel.get_by_label("Checklist, by the visitor's age")
    expect(choice).to_have_value(adult["version"])
    assert {v["audience"]["key"] for v in versions} >= {"adult", "young_people"}
    panel.get_by_role("button", name="Start the risk checklist").click()
    expect(panel.get_by_role("heading", name=re.compile("^Risk checklist · case C-"))).to_be_focused()
    definition = c.state()["assessment"]["definition"]
    core = len(definition["core"])
    live = panel.locator(".live")
    expect(live).to_contain_text(f"Score 0 of {core}")
    expect(panel.get_by_label("Checklist, by the visitor's age (until the first answer)")).to_have_value(
        adult["version"]
    )
    panel.get_by_text("Have you checked it is safe for them to talk right now?").click()

    # Strangulation, below 14: the panel invites professional judgement.
    c.answer("c15")
    expect(panel.locator(".version")).to_have_text(
        f"Checklist: {adult['audience']['label']} · version {adult['version']}"
    )
    strangulation = next(p["text"] for p in definition["prompts"] if p["key"] == "strangulation")
    expect(live.locator(".prompts")).to_contain_text("Consider professional judgement")
    expect(live.locator(".prompts")).to_contain_text(strangulation)
    live.get_by_role("button", name="Go to professional judgement").click()
    judged = panel.get_by_label("Professional judgement: raise to high risk")
    expect(judged).to_be_focused()
    panel_screenshot(c, "risk-checklist-prompt")
    # Judgement without its reason is refused beside it; the box stays as saved, focus stays on it.
    c.redrawn(lambda: page.keyboard.press("Space"))
    expect(panel.locator(".judgement .field-error")).to_have_text(
        "Not saved: Professional judgement needs a written reason."
    )
    expect(judged).not_to_be_checked()
    expect(judged).to_be_focused()

    # Threats to kill, with the keyboard: yes opens "tick which"; each save keeps focus in place.
    c14 = c.item("c14")
    c.keeps_focus(c14.get_by_role("radio", name="Yes", exact=True), "Space")
    ticks = c14.get_by_role("group", name="Tick which apply")
    threats = next(item for item in definition["core"] if item["key"] == "c14")
    expect(ticks.get_by_role("checkbox")).to_have_count(len(threats["ticks"]))
    c.keeps_focus(ticks.get_by_label("The victim"), "Space")
    expect(ticks.get_by_label("The victim")).to_be_checked()
    c.redrawn(lambda: ticks.get_by_label("The children").check())
    expect(ticks.get_by_label("The children")).to_be_checked()

    c23 = next(item for item in definition["core"] if item["key"] == "c23")
    breaches = {t["key"]: t["label"] for t in c23["ticks"]}
    c.answer("c23")
    c.redrawn(lambda: c.item("c23").get_by_label(breaches["bail"]).check())
    c.redrawn(lambda: c.item("c23").get_by_label(breaches["non_molestation"]).check())
    expect(c.item("c23").get_by_label(breaches["non_molestation"])).to_be_checked()

    # Separated, controlling and violent: the version's triggers open stalking on c08 (not honour).
    for key in YES_IN_ORDER[3:]:
        c.answer(key)
    expect(live).to_contain_text(f"Score 14 of {core}")
    expect(live).to_contain_text("Level: High")
    expect(live.locator(".prompts")).to_have_count(0)
    expect(live.locator(".criterion")).to_contain_text("Visible high risk (score 14)")
    expect(panel.get_by_role("heading", name="Stalking")).to_be_visible()
    expect(panel.get_by_role("heading", name="Honour-based abuse")).to_have_count(0)

    # The professional's section, for the advisor only, each field by its kind.
    professional = {f["key"]: f for f in definition["professional"]}
    section = panel.get_by_role("region", name="The professional's section")
    expect(section).to_contain_text("For you, not read out")
    factors = section.get_by_role("group", name=professional["other_factors"]["label"])
    first, second = professional["other_factors"]["options"][:2]
    c.keeps_focus(factors.get_by_label(first["label"]), "Space")
    c.redrawn(lambda: factors.get_by_label(second["label"]).check())
    weapons = section.get_by_role("group", name=professional["weapons_access"]["label"])
    c.redrawn(lambda: weapons.get_by_label("No", exact=True).check())
    priorities = section.get_by_label(professional["safety_priorities"]["label"])
    priorities.fill("Keep the children at school; fears he will find the new flat")
    c.redrawn(lambda: page.keyboard.press("Tab"))
    grounds = section.get_by_role("group", name=professional["marac_grounds"]["label"])
    expect(grounds.get_by_role("radio", name="Yes", exact=True)).to_be_focused()
    c.redrawn(lambda: grounds.get_by_label("Yes", exact=True).check())
    for key in ("children_risk", "children_referral_made"):
        group = section.get_by_role("group", name=professional[key]["label"])
        c.redrawn(lambda group=group: group.get_by_label("Yes", exact=True).check())

    # A date in the future is refused beside the field, and nothing is saved.
    today = dt.date.fromisoformat(page.evaluate("new Date().toLocaleDateString('en-CA')"))
    referral_on = section.get_by_label(professional["children_referral_on"]["label"])
    referral_on.fill((today + dt.timedelta(days=3)).isoformat())
    referral_on.blur()
    expect(section).to_contain_text("The date cannot be in the future.")
    expect(referral_on).to_have_attribute("aria-invalid", "true")
    assert "children_referral_on" not in c.state()["assessment"]["professional"]
    sent_on = (today - dt.timedelta(days=1)).isoformat()
    referral_on.fill(sent_on)
    c.redrawn(lambda: referral_on.press("Enter"))
    expect(referral_on).to_be_focused()
    expect(section).not_to_contain_text("The date cannot be in the future.")

    # Risks to children: the panel asks whether to refer to safeguard them, and records it.
    safeguarding = panel.get_by_role("region", name="Safeguarding the children")
    expect(live).to_contain_text("Risks to children are recorded")
    needed = safeguarding.get_by_role("group", name="Is a referral needed to safeguard the children?")
    needed.get_by_label("Yes").check()
    safeguarding.get_by_role("button", name="Record the decision").click()
    expect(safeguarding.get_by_role("alert")).to_have_text("Give the reason a referral is needed.")
    expect(safeguarding.get_by_label("Reason (required when a referral is needed)")).to_be_focused()
    assert c.state()["safeguarding"] is None
    page.keyboard.type("Threats to kill named the children")
    safeguarding.get_by_role("button", name="Record the decision").click()
    decision = safeguarding.locator(f"#{safeguarding.get_attribute('id')}-decision")
    expect(decision).to_have_text(f"Referral needed · decided on {today.isoformat()} · recorded by Noor")
    expect(decision).to_be_focused()
    expect(safeguarding).to_contain_text("Threats to kill named the children")
    expect(live).not_to_contain_text("Risks to children are recorded")

    panel_screenshot(c, "risk-checklist-whole-1280")
    assert axe_violations(page) == []

    # What the server keeps, and what a reload shows again.
    state = c.state()
    answers, kept = state["assessment"]["answers"], state["assessment"]["professional"]
    assert answers["c14"]["ticks"] == ["victim", "children"]
    assert answers["c23"]["ticks"] == ["bail", "non_molestation"]
    assert kept["other_factors"] == [first["key"], second["key"]]
    assert kept["weapons_access"] == "no"
    assert kept["safety_priorities"] == "Keep the children at school; fears he will find the new flat"
    assert (kept["marac_grounds"], kept["children_risk"], kept["children_referral_on"]) == ("yes", "yes", sent_on)
    assert state["safeguarding"]["needed"] is True
    assert state["safeguarding"]["reason"] == "Threats to kill named the children"
    page.reload()
    expect(c.item("c14").get_by_label("The children")).to_be_checked()
    expect(c.panel.get_by_label(professional["safety_priorities"]["label"])).to_have_value(kept["safety_priorities"])

    with page.context.expect_page() as opened:
        c.panel.get_by_role("button", name="Start the MARAC referral").click()
    referral = opened.value
    expect(referral.get_by_role("heading", name=re.compile("MARAC referral M-"))).to_be_visible()
    expect(referral.locator("#criteria")).to_contain_text("Visible high risk: yes (score 14)")
    details = referral.locator("#checklist-details")
    expect(details).to_contain_text(f"{threats['label']}: The victim, The children")
    expect(details).to_contain_text(f"{c23['label']}: {breaches['bail']}, {breaches['non_molestation']}")
    screenshot(referral, "risk-checklist-referral")
    assert axe_violations(referral) == []

    # The other kinds start from the panel too: IDVA beside MARAC, MASH under the decision.
    for button, heading in (
        ("Start an IDVA referral", "IDVA referral I-"),
        ("Start the children's safeguarding (MASH) referral", "referral S-"),
    ):
        with page.context.expect_page() as opened:
            c.panel.get_by_role("button", name=button).click()
        expect(opened.value.get_by_role("heading", name=re.compile(heading))).to_be_visible()
        opened.value.close()


def test_narrow_console_keeps_the_panel_usable(console: Any) -> None:
    c = console(760)
    c.panel.get_by_role("button", name="Start the risk checklist").click()
    for key in ("c15", "c14"):
        c.answer(key)
    expect(c.item("c14").get_by_role("group", name="Tick which apply")).to_be_visible()
    c.redrawn(lambda: c.item("c14").get_by_label("Other people").check())
    c.panel.get_by_label("Children in the household").check()
    expect(c.panel.get_by_role("heading", name="Children and dependants")).to_be_visible()
    c.panel.get_by_label("Concern about honour-based abuse").check()
    expect(c.panel.get_by_role("heading", name="Honour-based abuse")).to_be_visible()
    expect(c.panel.get_by_label("Concern about honour-based abuse")).to_be_focused()
    panel_screenshot(c, "risk-checklist-narrow")
    assert axe_violations(c.page) == []

    # One item at a time: the keyboard stays on "Next" as it steps on, and the details still show.
    c.panel.get_by_role("button", name="One at a time").click()
    expect(c.panel.get_by_role("button", name="Show as a list")).to_be_focused()
    step = c.panel.get_by_role("button", name="Next")
    step.focus()
    for _ in range(13):
        c.page.keyboard.press("Enter")
    expect(c.panel.locator(".items")).to_contain_text("14 of ")
    expect(step).to_be_focused()
    expect(c.item("c14").get_by_label("Other people")).to_be_checked()


def test_young_peoples_version_says_marac_is_for_16_and_over(console: Any) -> None:
    c = console(1280)
    young = next(v for v in c.state()["versions"] if v["audience"]["key"] == "young_people")
    choice = c.panel.get_by_label("Checklist, by the visitor's age")
    choice.select_option(young["version"])
    expect(c.panel).to_contain_text("this checklist offers no MARAC referral")
    c.panel.screenshot(path=str(SCREENSHOTS / "risk-checklist-start-panel.png"))
    c.panel.get_by_role("button", name="Start the risk checklist").click()
    live = c.panel.locator(".live")
    expect(live).to_contain_text("MARAC is for victims aged 16 and over.")
    core = len(c.state()["assessment"]["definition"]["core"])
    expect(live).to_contain_text(f"Score 0 of {core}")
    # Until the first answer another version may be chosen; the choice shows what is in use.
    version = c.panel.get_by_label("Checklist, by the visitor's age (until the first answer)")
    expect(version).to_have_value(young["version"])
    panel_screenshot(c, "risk-checklist-young-people")
    assert axe_violations(c.page) == []

    adult = next(v for v in c.state()["versions"] if v["audience"]["key"] == "adult")
    version.focus()
    c.redrawn(lambda: version.select_option(adult["version"]))
    expect(version).to_be_focused()
    expect(live).not_to_contain_text("MARAC is for victims aged 16 and over.")
    assert c.state()["assessment"]["version"] == adult["version"]
    c.redrawn(lambda: version.select_option(young["version"]))
    c.answer("c01")
    expect(c.panel.get_by_label("Checklist, by the visitor's age (until the first answer)")).to_have_count(0)
    expect(c.panel.locator(".version")).to_have_text(
        f"Checklist: {young['audience']['label']} · version {young['version']}"
    )
    expect(live).to_contain_text("MARAC is for victims aged 16 and over.")
