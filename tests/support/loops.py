"""Running a test's coroutine on an event loop of its own."""

import asyncio
import functools
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def on_own_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """The coroutine run on a new loop in a thread of its own: the browser tests' Playwright
    leaves its loop running on the main thread for the rest of the session (pytest-asyncio then
    refuses to start another there), and this keeps the case apart from whatever loop other
    tests leave behind."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def runs_on_own_loop(test: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """An async test made a plain one that runs it `on_own_loop` (its fixtures unchanged)."""

    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return on_own_loop(test(*args, **kwargs))

    return run
