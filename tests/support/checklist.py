"""The risk checklist in an advisor's console, for browser tests: answering its items and waiting
for the panel to be drawn again from the server's answer."""

from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from tests.support.live import LiveServer

# Yes to these, in this order, reaches 14: strangulation first, so its prompt shows below 14.
YES_IN_ORDER = ["c15", "c14", "c23", "c01", "c02", "c03", "c05", "c06", "c07", "c08", "c09", "c10", "c11", "c12"]


class Console:
    """An advisor's console with one chat taken from the queue, and the API state behind it."""

    def __init__(self, server: LiveServer, page: Any, conversation_id: str) -> None:
        self.server = server
        self.page = page
        self.conversation_id = conversation_id
        self.panel = page.locator(".chat-pane:not([hidden]) .risk-panel")

    def state(self) -> dict[str, Any]:
        url = f"{self.server.url}/risk/api/conversations/{self.conversation_id}/"
        result: dict[str, Any] = self.page.request.get(url).json()
        return result

    def item(self, key: str) -> Any:
        return self.panel.locator(f'.checklist-item[data-key="{key}"]')

    def answer(self, key: str, value: str = "Yes") -> None:
        radio = self.item(key).get_by_role("radio", name=value, exact=True)
        radio.check()
        expect(radio).to_be_checked()

    def redrawn(self, act: Callable[[], None]) -> None:
        """Does `act` (which saves), waits until the panel is drawn again from the server's
        answer, and checks the keyboard is back on the control it was on."""
        self.panel.locator(".items").evaluate("node => { node.dataset.old = 'yes'; }")
        act()
        expect(self.panel.locator(".items[data-old]")).to_have_count(0)

    def keeps_focus(self, control: Any, key: str) -> None:
        """Focuses `control`, presses `key`, and checks focus is on it again once the save is drawn."""
        control.focus()
        self.redrawn(lambda: self.page.keyboard.press(key))
        expect(control).to_be_focused()
