"""The whole risk path in Chromium: chat -> checklist with 14 yes -> referral offered ->
submitted -> a supervisor reviews and accepts; the audit trail shows each step."""

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.support.browser import axe_violations, screenshot
from tests.support.console import Staff, close_open_chats, on_shift, sign_in, take_new_chat
from tests.support.live import LiveServer
from tests.support.visitor import LiveVisitor


def test_checklist_to_accepted_referral(server: LiveServer, browser: Any, tmp_path: Path) -> None:
    advisor = Staff(server, name="Rae")
    supervisor = Staff(server, role="supervisor", name="Kim")
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    sign_in(page, server, advisor)
    on_shift(page)
    close_open_chats(server)
    visitor = LiveVisitor(server.ws_url, server.url)
    try:
        take_new_chat(page, visitor)
        visitor.say("He threatened to kill me and I believed him")
        pane = page.locator(".chat-pane:not([hidden])")
        panel = pane.locator(".risk-panel")
        panel.get_by_role("button", name="Start the risk checklist").click()
        expect(panel).to_contain_text("Score 0 of 24")
        panel.get_by_text("Have you checked it is safe for them to talk right now?").click()
        for key in [f"c{n:02d}" for n in range(1, 15)]:
            panel.locator(f'.checklist-item[data-key="{key}"]').get_by_role("radio", name="Yes").check()
            expect(panel.locator(f'.checklist-item[data-key="{key}"] input[value="yes"]')).to_be_checked()
        panel.locator('.checklist-item[data-key="c15"]').get_by_role("radio", name="Don't know").check()
        expect(panel.locator(".live")).to_contain_text("Score 14 of 24")
        expect(panel.locator(".live")).to_contain_text("Level: High")
        expect(panel.locator(".criterion")).to_contain_text("Visible high risk (score 14)")
        screenshot(page, "risk-checklist-in-console")
        assert axe_violations(page) == []

        # A reload loses nothing.
        page.reload()
        panel = page.locator(".chat-pane:not([hidden]) .risk-panel")
        expect(panel.locator(".live")).to_contain_text("Score 14 of 24")

        with context.expect_page() as opened:
            panel.get_by_role("button", name="Start the MARAC referral").click()
        referral = opened.value
        expect(referral.get_by_role("heading", name=re.compile("MARAC referral M-"))).to_be_visible()
        expect(referral.locator("#criteria")).to_contain_text("Visible high risk: yes (score 14)")
        referral.get_by_label("Forenames").fill("A.")
        referral.get_by_label("Area (decides the MARAC)").fill("Cardiff")
        referral.get_by_role("button", name="Save").click()
        assert axe_violations(referral) == []
        screenshot(referral, "risk-referral-draft")
        referral.get_by_role("button", name="Submitted").click()
        expect(referral.locator("#referral-state")).to_have_text("Submitted")
        reference = referral.get_by_role("heading", level=1).inner_text().split()[-1]

        sup = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        sign_in(sup, server, supervisor)
        sup.get_by_role("link", name="Referrals").click()
        row = sup.get_by_role("row", name=re.compile(reference))
        expect(row).to_contain_text("Visible high risk")
        screenshot(sup, "risk-referral-queue")
        assert axe_violations(sup) == []
        row.get_by_role("link", name=reference).click()
        sup.get_by_role("button", name="Under review").click()
        expect(sup.locator("#referral-state")).to_have_text("Under review")
        sup.get_by_label(re.compile("^Reason \\(required")).fill("Meets the threshold; urgent safety plan")
        sup.get_by_role("button", name="Accepted").click()
        expect(sup.locator("#referral-state")).to_have_text("Accepted")
        expect(sup.locator("#history")).to_contain_text("under_review → accepted (Meets the threshold")
        screenshot(sup, "risk-referral-accepted")

        sup.get_by_role("link", name=re.compile("^C-")).click()
        audit = sup.locator("table").last
        for action in (
            "case.create",
            "assessment.answer",
            "referral.draft",
            "referral.submitted",
            "referral.under_review",
            "referral.accepted",
        ):
            expect(audit).to_contain_text(action)
        # The trail names the referral; the reason stays with the referral's history, not in the trail.
        expect(audit).to_contain_text(reference)
        expect(audit).not_to_contain_text("urgent safety plan")
        screenshot(sup, "risk-case-audit")
        assert axe_violations(sup) == []

        # Sealing the transcript signs it; both exports verify against the server's keys.
        sup.get_by_role("button", name="Seal the transcript now").first.click()
        key_id = sup.locator("td code").filter(has_text=re.compile(r"^\d{8}-[0-9a-f]{16}$")).first
        expect(key_id).to_be_visible()
        screenshot(sup, "risk-case-sealed-transcript")
        for fmt in ("json", "pdf"):
            href = sup.get_by_role("link", name=fmt.upper()).first.get_attribute("href")
            exported = tmp_path / f"transcript.{fmt}"
            exported.write_bytes(sup.request.get(f"{server.url}{href}").body())
            report = server.manage("verify_transcript", str(exported))
            assert report.startswith("OK") and key_id.inner_text() in report, report
        keys = sup.request.get(f"{server.url}/.well-known/transcript-signing-keys.json").json()
        assert key_id.inner_text() in [k["key_id"] for k in keys["keys"]]
        sup.context.close()
    finally:
        visitor.close()
        context.close()
