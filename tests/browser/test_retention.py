"""A supervisor's retention review in Chromium: the case due is listed, a legal hold stops its
erasure, a wrong confirmation is refused, and the erased case appears in the register."""

import re
from typing import Any

from playwright.sync_api import expect

from tests.support.browser import axe_violations, screenshot
from tests.support.console import Staff, sign_in
from tests.support.live import LiveServer

OLD_CASE = """
from datetime import timedelta
from django.utils import timezone
from chat.models import Conversation, Message, Visitor
from risk.models import CaseConversation, CaseNote, CaseRecord
from agents.models import StaffProfile
owner = StaffProfile.objects.get(display_name={owner!r}).user
then = timezone.now() - timedelta(days=3000)
visitor = Visitor.objects.create(token_hash="retention-browser-{n}", expires_at=then)
chat = Conversation.objects.create(visitor=visitor, state="closed", closed_at=then)
Message.objects.create(conversation=chat, seq=1, kind="text", sender_kind="visitor", text="An old disclosure")
case = CaseRecord.objects.create(owner=owner)
CaseConversation.objects.create(case=case, conversation=chat, linked_by=owner)
CaseNote.objects.create(case=case, text="An old note", author=owner)
Conversation.objects.filter(pk=chat.pk).update(created_at=then)
CaseRecord.objects.filter(pk=case.pk).update(created_at=then)
CaseConversation.objects.filter(case=case).update(linked_at=then)
CaseNote.objects.filter(case=case).update(created_at=then)
print(case.reference)
"""


def test_review_hold_and_erase_a_case(server: LiveServer, browser: Any) -> None:
    advisor = Staff(server, name="Ola")
    supervisor = Staff(server, role="supervisor", name="Mo")
    reference = server.shell(OLD_CASE.format(owner=advisor.name, n=1)).strip()
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    sign_in(page, server, supervisor)

    page.get_by_role("link", name="Retention").click()
    due = page.locator("section", has=page.get_by_role("heading", name="Due for review"))
    expect(due.get_by_role("row", name=re.compile(reference))).to_be_visible()
    screenshot(page, "retention-review-list")
    assert axe_violations(page) == []

    due.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)
    expect(page.locator(".retention-facts")).to_contain_text("Due")
    assert axe_violations(page) == []
    page.get_by_label("Why (no details of the person)", exact=False).last.fill("Police request 44/2026")
    page.get_by_role("button", name="Put on legal hold").click()
    expect(page.locator(".retention-facts")).to_contain_text("On hold")
    expect(page.get_by_role("button", name="Erase the case")).to_have_count(0)
    screenshot(page, "retention-case-on-hold")

    page.get_by_label("Why the hold ends").fill("Investigation closed")
    page.get_by_role("button", name="Release the hold").click()
    page.get_by_label("The person asked").check()
    page.get_by_label(re.compile("^Reason")).fill("Request by post, logged DSR-7")
    page.get_by_label(f"Type the reference {reference} to confirm").fill("C-WRONG")
    page.get_by_role("button", name="Erase the case").click()
    expect(page.get_by_role("alert")).to_contain_text(f"Type the case reference {reference}")
    screenshot(page, "retention-erase-refused")

    page.get_by_label(f"Type the reference {reference} to confirm").fill(reference)
    page.get_by_role("button", name="Erase the case").click()
    expect(page.locator(".notice[role=status]")).to_contain_text(f"Case {reference} was erased")
    register = page.locator("section", has=page.get_by_role("heading", name="Register of erasures"))
    expect(register.get_by_role("row", name=re.compile(reference))).to_contain_text("On request")
    screenshot(page, "retention-erased")
    assert axe_violations(page) == []
    left = server.shell(
        "from risk.models import CaseRecord; from chat.models import Message; "
        f"print(CaseRecord.objects.filter(reference={reference!r}).count(), "
        "Message.objects.filter(text='An old disclosure').count())"
    )
    assert left.split() == ["0", "0"]
