"""Running a test's coroutine on an event loop of its own."""

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def on_own_loop(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """The coroutine run on a new loop in a thread of its own: the browser tests' Playwright
    leaves its loop running on the main thread for the rest of the session (pytest-asyncio then
    refuses to start another there), and this keeps the case apart from whatever loop other
    tests leave behind."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
