"""Helpers for browser tests: accessibility checks with axe-core and screenshots."""

from functools import cache
from pathlib import Path
from typing import Any

from tests.support.live import ROOT

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@cache
def _axe_source() -> str:
    return AXE.read_text()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Runs axe-core in the page; returns its violations (WCAG 2.1 A and AA rules)."""
    # Evaluated through the debugging protocol, so the page's strict CSP stays in force.
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(_axe_source())
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
