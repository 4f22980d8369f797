"""Referrals of each kind in Chromium: the case page offers a button per kind naming the agency
each would go to (or that the area has none); a police report is drafted, the victim's consent
and the sealed transcript attached, and submitted; an IDVA referral is drafted, reviewed and
sent by a supervisor, who finds it in the queue filtered by kind. Each page passes axe-core."""

import re
from typing import Any

from playwright.sync_api import expect

from tests.support.browser import axe_violations, screenshot
from tests.support.console import Staff, sign_in
from tests.support.live import LiveServer

CASE = """
from chat.models import Conversation, Message, Region, Visitor
from django.utils import timezone
from risk.models import Agency, CaseConversation, CaseRecord, MaracArea
from agents.models import StaffProfile
owner = StaffProfile.objects.get(display_name={owner!r}).user
region, _ = Region.objects.get_or_create(slug="pathway-forms", defaults={{"name": "Pathway forms"}})
area, created = MaracArea.objects.get_or_create(name="Forms Vale")
area.regions.add(region)
for kind, name in (("marac", "Forms Vale MARAC"), ("idva", "Forms Vale IDVA service"), ("police", "Forms Vale Police")):
    if created:
        Agency.objects.create(area=area, kind=kind, name=name, email=kind + "@forms-vale.example.org")
visitor = Visitor.objects.create(token_hash="pathway-forms-browser-{n}", expires_at=timezone.now())
chat = Conversation.objects.create(visitor=visitor, state="closed", closed_at=timezone.now(), region="pathway-forms")
Message.objects.create(conversation=chat, seq=1, kind="text", sender_kind="visitor", text="He hit me last night")
case = CaseRecord.objects.create(owner=owner)
CaseConversation.objects.create(case=case, conversation=chat, linked_by=owner)
if {seal}:  # sealed here, signed but without its PDF (a worker renders that, slowly on a busy machine)
    from agents.canonical import seal
    from risk.models import TranscriptSnapshot
    from risk.transcripts import snapshot_sign
    content = {{"format": "helpline-transcript/1", "case": case.reference, "conversation": str(chat.pk), "entries": []}}
    snapshot_sign(snapshot=TranscriptSnapshot.objects.create(
        case=case, conversation=chat, content=content, sha256=seal(content), created_by=owner
    ))
print(case.pk)
"""


def open_case(server: LiveServer, browser: Any, n: int, *, seal: bool = False) -> tuple[Any, Staff, str]:
    """A case of a new advisor's with a closed chat from the area's region (its transcript sealed
    if `seal`); its page open."""
    advisor = Staff(server, name=f"Pat{n}")
    case_id = server.shell(CASE.format(owner=advisor.name, n=n, seal=seal)).strip()
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.set_default_timeout(20_000)
    sign_in(page, server, advisor)
    page.goto(f"{server.url}/risk/cases/{case_id}/")
    return page, advisor, case_id


def test_the_case_page_offers_each_kind_and_a_police_report_needs_consent(server: LiveServer, browser: Any) -> None:
    page, _, _ = open_case(server, browser, 1, seal=True)
    expect(page.locator("#destination-idva")).to_have_text("To Forms Vale IDVA service (Forms Vale)")
    expect(page.locator("#destination-mash")).to_have_text("No agency for this area")
    for label in (
        "Draft a MARAC referral",
        "Draft an IDVA referral",
        "Draft a children's safeguarding (MASH) referral",
        "Draft a police report",
    ):
        expect(page.get_by_role("button", name=label)).to_be_visible()
    expect(page.get_by_role("link", name="PDF")).to_have_count(1)
    screenshot(page, "pathway-forms-case-referral-buttons")
    assert axe_violations(page) == []

    # Refused without consent; submitted with it, the transcript attached and a crime reference.
    page.get_by_role("button", name="Draft a police report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Police report P-"))
    expect(page.locator("#referral-destination")).to_contain_text("To Forms Vale Police (Forms Vale)")
    expect(page.locator("#referral-transcript")).to_contain_text("Sealed transcript: attached")
    page.get_by_label("When it happened").fill("2026-12-06")
    page.get_by_label("What happened, in the victim's words").fill("Hit in the kitchen")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Submitted").click()
    expect(page.get_by_role("alert")).to_contain_text("only with the victim's consent")
    expect(page.locator("#referral-state")).to_have_text("Draft")
    page.get_by_label("The victim consents to this report being made on their behalf").select_option("yes")
    page.get_by_label("How and when the victim gave consent").fill("In the chat, after the options were explained")
    page.get_by_label("Crime or incident reference").fill("FV-2026-0042")
    screenshot(page, "pathway-forms-police-report-draft")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_label("Crime or incident reference")).to_have_value("FV-2026-0042")
    page.get_by_role("button", name="Submitted").click()
    expect(page.locator("#referral-state")).to_have_text("Submitted")


def test_an_idva_referral_is_found_by_kind_reviewed_and_sent(server: LiveServer, browser: Any) -> None:
    page, _, _ = open_case(server, browser, 2)
    supervisor = Staff(server, role="supervisor", name="Lee")
    page.get_by_role("button", name="Draft an IDVA referral").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^IDVA referral I-"))
    page.get_by_label("What support the victim wants from an IDVA").fill("Help with a non-molestation order")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Submitted").click()
    expect(page.locator("#referral-state")).to_have_text("Submitted")
    reference = page.get_by_role("heading", level=1).inner_text().split()[-1]
    screenshot(page, "pathway-forms-idva-submitted")
    assert axe_violations(page) == []

    sup = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    sup.set_default_timeout(20_000)
    sign_in(sup, server, supervisor)
    sup.get_by_role("link", name="Referrals").click()
    sup.get_by_label("Kind").select_option("idva")
    sup.get_by_role("button", name="Filter").click()
    row = sup.get_by_role("row", name=re.compile(reference))
    expect(row).to_contain_text("IDVA referral")
    expect(sup.get_by_role("cell", name="Police report")).to_have_count(0)
    screenshot(sup, "pathway-forms-queue-by-kind")
    assert axe_violations(sup) == []
    row.get_by_role("link", name=reference).click()
    sup.get_by_role("button", name="Under review").click()
    sup.get_by_role("button", name="Accepted").click()
    expect(sup.get_by_role("button", name="Listed for a meeting")).to_have_count(0)
    sup.get_by_role("button", name="Sent to the agency").click()
    expect(sup.locator("#referral-state")).to_have_text("Sent to the agency")
