"""Calls to the Bot API through python-telegram-bot, from synchronous code (Celery tasks, the
management commands), with its errors sorted into what the caller does next:

- `Unavailable`: Telegram could not be reached or failed (network, timeout, 5xx): try again later.
- `Flooded`: 429 with retry_after: wait that long, then try again.
- `Refused`: the chat cannot be written to (403: the visitor blocked the bot; 400 chat not found,
  deactivated): never try again; the advisor is told.
- `Rejected`: this one call was refused (another 400, such as a message too old to delete).

A Bot object is made per call with its own HTTP client, closed afterwards: each call runs in an
event loop of its own (asyncio.run), and an HTTP client must not outlive its loop.
"""

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

T = TypeVar("T")
# python-telegram-bot's coming behaviour, taken now: durations (a 429's retry_after) as
# timedelta, which this module already reads; without it every 429 warns of the change.
os.environ.setdefault("PTB_TIMEDELTA", "true")

REFUSED_400 = ("chat not found", "user is deactivated", "bot was kicked", "have no rights to send", "peer_id_invalid")


class ApiError(Exception):
    pass


class Unavailable(ApiError):
    pass


class Flooded(ApiError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class Refused(ApiError):
    pass


class Rejected(ApiError):
    pass


def enabled() -> bool:
    return bool(settings.TELEGRAM["BOT_TOKEN"])


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def sort_error(exc: TelegramError) -> ApiError:
    """Our kind of error for one of python-telegram-bot's (its message is Telegram's description,
    which names no user)."""
    if isinstance(exc, RetryAfter):
        return Flooded(_seconds(exc._retry_after))
    if isinstance(exc, Forbidden | ChatMigrated):
        return Refused(exc.message[:200])
    if isinstance(exc, BadRequest):  # before NetworkError: BadRequest is one
        if any(reason in exc.message.lower() for reason in REFUSED_400):
            return Refused(exc.message[:200])
        return Rejected(exc.message[:200])
    if isinstance(exc, NetworkError):
        return Unavailable(exc.message[:200])
    return Unavailable(str(exc)[:200])


def call(operation: Callable[[Bot], Awaitable[T]], *, timeout: float = 10.0) -> T:
    """Run one Bot API operation; raises one of this module's errors."""

    async def run() -> T:
        request = HTTPXRequest(connection_pool_size=2, connect_timeout=timeout, read_timeout=timeout)
        bot = Bot(
            settings.TELEGRAM["BOT_TOKEN"], base_url=settings.TELEGRAM["API_URL"].rstrip("/") + "/bot", request=request
        )
        try:
            return await operation(bot)
        finally:
            await request.shutdown()

    try:
        return asyncio.run(run())
    except TelegramError as exc:
        raise sort_error(exc) from None
