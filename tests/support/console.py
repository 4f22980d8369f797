"""Staff in browser tests: accounts on the live server, TOTP sign-in, going on shift."""

import itertools
import re
import time
from typing import Any

import pyotp
from playwright.sync_api import expect

from tests.support.live import LiveServer
from tests.support.visitor import LiveVisitor

_n = itertools.count(1)
PASSWORD = "a-long-test-password-42"


class Staff:
    """A staff account on the live server and its TOTP secret once enrolled."""

    def __init__(self, server: LiveServer, role: str = "advisor", name: str | None = None) -> None:
        self.username = f"{role}{next(_n)}x"
        self.name = name or self.username.title()
        self.secret: str | None = None
        self.last_step = -1
        server.shell(
            "from django.contrib.auth import get_user_model; from agents.models import StaffProfile; "
            "from chat.models import Queue; "
            f"u = get_user_model().objects.create_user(username={self.username!r}, password={PASSWORD!r}); "
            f"p = StaffProfile.objects.create(user=u, role={role!r}, display_name={self.name!r}, capacity=3); "
            "p.queues.set(Queue.objects.all())"
        )

    def code(self) -> str:
        """The current TOTP code, or the next step's if the current one was used already."""
        assert self.secret
        totp = pyotp.TOTP(self.secret)
        step = int(time.time()) // 30
        if step <= self.last_step:
            step = self.last_step + 1
        self.last_step = step
        return totp.at(step * 30)


def sign_in(page: Any, server: LiveServer, staff: Staff) -> None:
    page.goto(f"{server.url}/accounts/login/")
    page.get_by_label("Username").fill(staff.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/$"))
    if staff.secret is None:
        staff.secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Six-digit code").fill(staff.code())
    page.get_by_role("button", name=re.compile("continue", re.I)).click()
    expect(page).to_have_url(re.compile(r"/console/"))


def on_shift(page: Any) -> None:
    expect(page.locator("#load")).to_contain_text("of 3 chats")
    page.get_by_label("Status").select_option("on_shift")
    expect(page.locator("#take-next")).to_be_enabled()


def close_open_chats(server: LiveServer) -> None:
    """Closes every open chat: "Take next" takes the oldest, and earlier tests leave chats waiting
    out their grace."""
    server.shell(
        "from chat.models import Conversation; Conversation.objects.exclude(state='closed').update(state='closed')"
    )


def take_new_chat(page: Any, visitor: LiveVisitor) -> str:
    """Queues the visitor and takes their chat in the advisor's console; returns its id."""
    conversation_id = visitor.queue()
    visitor.wait_for(type="status", position=1)
    page.get_by_role("button", name="Take next chat").click()
    visitor.wait_for(type="entry", event="assigned")
    return conversation_id
