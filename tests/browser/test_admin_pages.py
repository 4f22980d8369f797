"""The admin pages the multi-agency pathway added, as a supervisor with admin rights sees them:
the directory (MARAC areas and agencies) and the referral forms' versions (a published one,
read-only, and a draft being edited). Each passes axe-core."""

import re
from typing import Any

from playwright.sync_api import expect

from tests.support.browser import axe_violations, screenshot
from tests.support.console import Staff, sign_in
from tests.support.live import LiveServer


def test_the_directory_and_form_version_admin_pages_pass_axe(server: LiveServer, browser: Any) -> None:
    admin = Staff(server, role="supervisor", name="Kim")
    server.shell(
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.filter(username={admin.username!r}).update(is_staff=True, is_superuser=True); "
        "from risk.agency_models import Agency, MaracArea; "
        "area, _ = MaracArea.objects.get_or_create(name='Admin Test Area'); "
        "Agency.objects.get_or_create(area=area, kind='idva', "
        " defaults={'name': 'Admin Test IDVA', 'email': 'idva@admin-test.example.org'})"
    )
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    sign_in(page, server, admin)

    pages = [
        ("/admin/risk/maracarea/", "Select MARAC area to change"),
        ("/admin/risk/maracarea/add/", "Add MARAC area"),
        ("/admin/risk/agency/", "Select agency to change"),
        ("/admin/risk/agency/add/", "Add agency"),
        ("/admin/risk/referralformversion/", "Select referral form version to change"),
    ]
    for path, heading in pages:
        page.goto(f"{server.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(heading, re.I))
        assert axe_violations(page) == [], path
    screenshot(page, "admin-form-versions")

    # A published version opens read-only; copied as a draft, the draft opens for editing.
    page.locator("#result_list tbody tr a").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("referral form version", re.I))
    assert axe_violations(page) == [], "published version"
    screenshot(page, "admin-form-version-published")
    page.goto(f"{server.url}/admin/risk/referralformversion/")
    page.locator("#result_list tbody tr input[name=_selected_action]").first.check()
    page.locator("select[name=action]").select_option(label="Copy as a new draft")
    page.get_by_role("button", name="Go").click()
    page.locator(".messagelist a").first.click()
    expect(page.locator("textarea").first).to_be_editable()
    assert axe_violations(page) == [], "draft version"
    screenshot(page, "admin-form-version-draft")
    context.close()
