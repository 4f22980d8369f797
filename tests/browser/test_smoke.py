from typing import Any

from tests.support.browser import axe_violations, screenshot
from tests.support.live import LiveServer


def test_home_page_renders_and_is_accessible(server: LiveServer, page: Any) -> None:
    page.goto(server.url + "/")
    assert page.get_by_role("heading", level=1).is_visible()
    screenshot(page, "home")
    assert axe_violations(page) == []
