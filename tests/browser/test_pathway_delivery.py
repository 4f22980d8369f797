"""Delivery in Chromium: a supervisor delivers an accepted referral to a real SMTP server; the
agency opens the link from the email, enters the code from the other email (a wrong one first),
reads the referral once and saves its signed transcript; the supervisor sees the receipt. Every
page passes axe-core."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import axe_violations, screenshot
from tests.support.console import Staff, sign_in
from tests.support.live import LiveServer
from tests.support.smtp import Mailbox, server_sending_to


@pytest.fixture(scope="module")
def mail_and_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Mailbox, LiveServer]]:
    box = Mailbox()
    with server_sending_to(box, tmp_path_factory.mktemp("delivery")) as server:
        yield box, server


def accepted_referral(server: LiveServer, advisor: Staff, supervisor: Staff) -> str:
    return server.shell(
        "from django.contrib.auth import get_user_model; from risk import referrals; "
        "from risk.models import Agency, MaracArea; U = get_user_model(); "
        f"adv = U.objects.get(username={advisor.username!r}); sup = U.objects.get(username={supervisor.username!r}); "
        "area = MaracArea.objects.create(name='Cardiff'); "
        "[Agency.objects.create(area=area, kind=k, name=f'Cardiff {label}', email=f'{k}@cardiff.example.org') "
        " for k, label in Agency.Kind.choices]; "
        "from risk import snapshots; from tests.factories.risk import case_with_chat; "
        "case = case_with_chat(adv, area='Cardiff'); "
        "r = referrals.referral_draft(user=adv, case_id=case.pk); "
        # The sealed transcript attached, as a police report's always is and any other's may be.
        "r.snapshot = snapshots.snapshot_make(user=adv, case_id=case.pk, "
        " conversation_id=case.conversation_links.get().conversation_id); r.save(update_fields=['snapshot']); "
        "referrals.referral_update(user=adv, referral_id=r.pk, form={'victim': {'forenames': 'Aderyn'}}); "
        "[referrals.referral_transition(user=who, referral_id=r.pk, to_state=s) "
        " for who, s in ((adv, 'submitted'), (sup, 'under_review'), (sup, 'accepted'))]; "
        "print(r.pk)"
    ).strip()


@pytest.mark.timeout(300)  # a server of its own, several pages and axe runs on a shared machine
def test_deliver_open_once_with_the_code_and_see_the_receipt(
    mail_and_server: tuple[Mailbox, LiveServer], browser: Any, tmp_path: Path
) -> None:
    box, server = mail_and_server
    advisor, supervisor = Staff(server, name="Rae"), Staff(server, role="supervisor", name="Kim")
    referral_id = accepted_referral(server, advisor, supervisor)

    staff = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    sign_in(staff, server, supervisor)
    staff.goto(f"{server.url}/risk/referrals/{referral_id}/")
    expect(staff.locator("#delivery")).to_contain_text("Not delivered yet.")
    staff.get_by_role("button", name="Deliver to Cardiff MARAC coordinator").click()
    expect(staff.locator("#deliveries")).to_contain_text("Sent, not opened yet")
    expect(staff.get_by_role("button", name="Send again to Cardiff MARAC coordinator")).to_be_visible()
    screenshot(staff, "delivery-referral-sent")
    assert axe_violations(staff) == []

    assert len(box.messages) == 2
    link = re.search(r"http://127\.0\.0\.1:\d+/r/[A-Za-z0-9_-]+/", box.bodies()[0])
    code = re.search(r"\b\d{4} \d{4}\b", box.bodies()[1])
    assert link and code and "Aderyn" not in "".join(box.bodies())

    agency = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    agency.goto(link.group(0))
    expect(agency.get_by_role("heading", name="A referral for your agency")).to_be_visible()
    screenshot(agency, "delivery-code-asked")
    assert axe_violations(agency) == []
    agency.get_by_label("One-time code").fill("0000 0001" if code.group(0) != "0000 0001" else "0000 0002")
    agency.get_by_role("button", name="Open the referral").click()
    expect(agency.locator("#delivery-error")).to_contain_text("That code is not right. 4 tries left")
    assert axe_violations(agency) == []
    agency.get_by_label("One-time code").fill(code.group(0))
    agency.get_by_role("button", name="Open the referral").click()
    expect(agency.get_by_role("heading", level=1)).to_contain_text("Referral M-")
    expect(agency.locator("#delivery-opened")).to_contain_text("This page is shown once")
    expect(agency.get_by_text("Aderyn")).to_be_visible()
    with agency.expect_download() as saved:
        agency.get_by_role("link", name="Save the signed transcript (PDF)").click()
    assert re.fullmatch(r"M-\w{8}-transcript-[0-9a-f]{12}\.pdf", saved.value.suggested_filename)
    assert Path(saved.value.path()).read_bytes().startswith(b"%PDF")
    screenshot(agency, "delivery-referral-opened")
    assert axe_violations(agency) == []
    agency.goto(link.group(0))
    expect(agency.locator("#delivery-error")).to_contain_text("already been used")
    screenshot(agency, "delivery-link-used")
    assert axe_violations(agency) == []

    staff.reload()
    expect(staff.locator("#deliveries")).to_contain_text("Receipt: opened")
    expect(staff.locator("#deliveries")).to_contain_text("by Cardiff MARAC coordinator")
    screenshot(staff, "delivery-receipt")
    assert axe_violations(staff) == []
    staff.goto(f"{server.url}/risk/referrals/")
    assert axe_violations(staff) == []
    agency.context.close()
    staff.context.close()
