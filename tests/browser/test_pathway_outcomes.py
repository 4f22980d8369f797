"""The MARAC outcome and perpetrator matching in Chromium: a supervisor records the meeting's
outcome with two actions on a listed referral, marks one done, finds the other overdue in the
queue beside a "possible link" to another case naming the same perpetrator, searches for that
perpetrator, and sees the actions by agency in the reports. Every page passes axe-core."""

import re
from datetime import date, timedelta
from typing import Any

from playwright.sync_api import expect

from tests.support.browser import axe_violations, screenshot
from tests.support.console import Staff, sign_in
from tests.support.live import LiveServer

SEED = """
from datetime import timedelta
from django.utils import timezone
from agents.models import StaffProfile
from chat.setup_models import Region
from risk import referrals
from risk.outcomes import ActionInput, outcome_record
from risk.models import Agency, CaseRecord, MaracArea
area, _ = MaracArea.objects.get_or_create(name="Cardiff")
for kind, label in Agency.Kind.choices:
    named = {{"name": f"Cardiff {{label}}", "email": f"{{kind}}@example.org"}}
    Agency.objects.get_or_create(area=area, kind=kind, defaults=named)
advisor = StaffProfile.objects.get(display_name={advisor!r}).user
other = StaffProfile.objects.get(display_name={other!r}).user
supervisor = StaffProfile.objects.get(display_name={supervisor!r}).user
out = []
for owner, name, move in ((advisor, "Dan Example-Smith", True), (other, "SMITH, Dan Example", False)):
    case = CaseRecord.objects.create(owner=owner, area="Cardiff")
    referral = referrals.referral_draft(user=owner, case_id=case.pk)
    referrals.referral_update(
        user=owner, referral_id=referral.pk, form={{"perpetrators": [{{"name": name, "date_of_birth": "1979-05-04"}}]}}
    )
    referrals.referral_transition(user=owner, referral_id=referral.pk, to_state="submitted")
    if move:
        for state in ("under_review", "accepted"):
            referrals.referral_transition(user=supervisor, referral_id=referral.pk, to_state=state)
        when = timezone.localdate() - timedelta(days=20)
        referrals.referral_transition(user=supervisor, referral_id=referral.pk, to_state="listed", meeting_on=when)
    out += [str(referral.pk), referral.reference]
if {recorded!r}:
    today = timezone.localdate()
    idva = Agency.objects.get(area=area, kind="idva").pk
    actions = [
        ActionInput(description="Contact the victim within a week", due_on=today - timedelta(days=13), agency_id=idva),
        ActionInput(description="Review the tenancy", due_on=today + timedelta(days=5), agency_name="Housing"),
    ]
    heard_on = today - timedelta(days=20)
    outcome_record(user=supervisor, referral_id=out[0], heard_on=heard_on, summary="Safety plan", actions=actions)
print(" ".join(out))
"""


def days_from_today(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()  # noqa: DTZ011  (the server's day, on this machine)


def seeded(server: LiveServer, browser: Any, *, recorded: bool) -> tuple[Any, list[str]]:
    """Two cases naming the same perpetrator, one referral listed for a meeting (its outcome
    recorded if `recorded`); a supervisor signed in. Returns the page and the referrals' ids
    and references."""
    names = {"advisor": Staff(server).name, "other": Staff(server).name}
    supervisor = Staff(server, role="supervisor")
    seed = SEED.format(supervisor=supervisor.name, recorded=recorded, **names)
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    sign_in(page, server, supervisor)
    return page, server.shell(seed).strip().split()


def test_record_an_outcome_and_follow_its_actions(server: LiveServer, browser: Any) -> None:
    page, (listed_id, _, _, linked_ref) = seeded(server, browser, recorded=False)

    page.goto(f"{server.url}/risk/referrals/{listed_id}/")
    outcome = page.locator("section", has=page.get_by_role("heading", name="Meeting outcome"))
    expect(outcome.get_by_role("button", name="Record the outcome")).to_be_visible()
    links = page.locator("section", has=page.get_by_role("heading", name="Possible links"))
    expect(links).to_contain_text(linked_ref)
    assert axe_violations(page) == []
    screenshot(page, "pathway-outcome-form")

    page.get_by_label("What the meeting decided").fill("Safety plan agreed; police marker on the address")
    page.get_by_label("Action 1: what is to be done").fill("Contact the victim within a week")
    idva = "Cardiff IDVA service (IDVA service, Cardiff)"
    page.get_by_label("Action 1: agency that owns it").select_option(label=idva)
    page.get_by_label("Action 1: due by").fill(days_from_today(-13))
    page.get_by_label("Action 2: what is to be done").fill("Review the tenancy")
    page.get_by_label("Action 2: agency not in the directory").fill("Housing")
    page.get_by_label("Action 2: due by").fill(days_from_today(5))
    page.get_by_role("button", name="Record the outcome").click()

    expect(page.locator("#referral-state")).to_have_text("Heard")
    actions = page.locator("#marac-actions")
    expect(actions.get_by_role("row", name=re.compile("Contact the victim"))).to_contain_text("Open")
    actions.get_by_role("row", name=re.compile("Review the tenancy")).get_by_role("button", name="Mark done").click()
    expect(page.locator("#marac-actions").get_by_role("row", name=re.compile("Review the tenancy"))).to_contain_text(
        "Done"
    )
    assert axe_violations(page) == []
    screenshot(page, "pathway-outcome-recorded")


def test_overdue_actions_possible_links_search_and_reports(server: LiveServer, browser: Any) -> None:
    page, (_, listed_ref, _, linked_ref) = seeded(server, browser, recorded=True)

    page.goto(f"{server.url}/risk/referrals/")
    overdue = page.locator("section", has=page.get_by_role("heading", name="Overdue MARAC actions"))
    expect(overdue.get_by_role("row", name=re.compile(listed_ref))).to_contain_text("Contact the victim")
    expect(overdue.get_by_role("row", name=re.compile(listed_ref))).to_have_count(1)  # not the action due later
    expect(page.get_by_role("row", name=re.compile(linked_ref))).to_contain_text("Possible link")
    assert axe_violations(page) == []
    screenshot(page, "pathway-queue-overdue-and-links")

    page.get_by_role("link", name="Search for a perpetrator across cases").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Perpetrator search")
    assert axe_violations(page) == []
    page.get_by_label("Name or alias").fill("dan example smith")
    page.get_by_label("Date of birth").fill("1979-05-04")
    page.get_by_role("button", name="Search").click()
    results = page.locator("section", has=page.get_by_role("heading", name="Referrals found"))
    expect(results).to_contain_text(listed_ref)
    expect(results).to_contain_text(linked_ref)
    assert axe_violations(page) == []
    screenshot(page, "pathway-perpetrator-search")

    page.goto(f"{server.url}/console/reports/?start={days_from_today(-30)}&end={days_from_today(0)}")
    table = page.locator("#marac-actions-by-agency")
    expect(table).to_contain_text("Cardiff IDVA service")
    expect(table).to_contain_text("fewer than")
    assert axe_violations(page) == []
    screenshot(page, "pathway-reports-actions")
