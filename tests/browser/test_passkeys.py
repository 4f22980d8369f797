"""A passkey end to end in Chromium with its virtual authenticator (the DevTools protocol's
WebAuthn domain): added from the staff passkeys page, then used instead of the code at sign-in.
Passkeys need a domain name, so this test uses http://localhost, not 127.0.0.1."""

import re
from typing import Any

from playwright.sync_api import expect

from tests.support.browser import axe_violations, screenshot
from tests.support.console import PASSWORD, Staff
from tests.support.live import LiveServer


def password_step(page: Any, base: str, staff: Staff) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(staff.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/$"))


def test_add_a_passkey_then_sign_in_with_it(server: LiveServer, browser: Any) -> None:
    base = f"http://localhost:{server.port}"
    staff = Staff(server)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    devtools = context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    authenticator = devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )["authenticatorId"]

    # First sign-in: password, then enrol the authenticator app (a passkey needs a verified session).
    password_step(page, base, staff)
    staff.secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Six-digit code").fill(staff.code())
    page.get_by_role("button", name="Confirm and continue").click()
    expect(page).to_have_url(re.compile(r"/console/$"))

    page.get_by_role("link", name="Passkeys").click()
    expect(page.get_by_role("heading", name="Passkeys")).to_be_visible()
    expect(page.locator("#no-passkeys")).to_be_visible()
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator("#passkey-list li")).to_have_count(1)
    assert axe_violations(page) == []
    screenshot(page, "console-passkeys")
    stored = devtools.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(stored) == 1 and stored[0]["rpId"] == "localhost"

    page.get_by_role("link", name="Back to the console").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("signed out")

    # Next sign-in: the password, then the passkey instead of a code.
    password_step(page, base, staff)
    expect(page.get_by_role("button", name="Use a passkey")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "console-2fa-passkey")
    page.get_by_role("button", name="Use a passkey").click()
    expect(page).to_have_url(re.compile(r"/console/$"))
    expect(page.locator("#load")).to_contain_text("of 3 chats")  # the console socket accepted the session
    used = devtools.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert used[0]["signCount"] > stored[0]["signCount"]

    # Without the authenticator the passkey cannot be used, and the console stays shut.
    page.get_by_role("button", name="Sign out").click()
    devtools.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator})
    password_step(page, base, staff)
    page.goto(f"{base}/console/")
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/$"))
    assert not [e for e in errors if "Content Security Policy" in e or "Permissions-Policy" in e], errors
    context.close()
