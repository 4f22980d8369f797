"""What a person sees when their account has had too many failed sign-ins from this browser:
a pause, then the form that takes the password and the authenticator code together."""

import re
from typing import Any

from playwright.sync_api import expect

from tests.support.browser import axe_violations, screenshot
from tests.support.console import PASSWORD, Staff, sign_in
from tests.support.live import LiveServer


def try_password(page: Any, server: LiveServer, staff: Staff, password: str) -> None:
    page.goto(f"{server.url}/accounts/login/")
    page.get_by_label("Username").fill(staff.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()


def test_a_locked_person_signs_in_with_password_and_code(server: LiveServer, browser: Any) -> None:
    staff = Staff(server)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, server, staff)  # enrols the authenticator app
    page.get_by_role("button", name="Sign out").click()

    for _ in range(3):
        try_password(page, server, staff, "wrong-password")
        expect(page.get_by_role("alert")).to_contain_text("didn't match")
    try_password(page, server, staff, "wrong-password")
    expect(page.locator("#signin-wait")).to_contain_text("Wait")
    screenshot(page, "console-login-wait")
    # Past the pauses (moved back on the server), the limit locks this browser out.
    for _ in range(2):
        server.shell(
            "from axes.models import AccessAttempt; from datetime import timedelta; "
            "from django.utils import timezone; "
            "AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=1))"
        )
        try_password(page, server, staff, "wrong-password")
    try_password(page, server, staff, PASSWORD)
    expect(page.locator("#second-factor-needed")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "console-login-locked")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Six-digit code").fill(staff.code())
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/console/$"))
    expect(page.locator("#load")).to_contain_text("of 3 chats")
    context.close()
