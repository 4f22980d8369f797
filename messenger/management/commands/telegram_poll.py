"""Polling instead of the webhook, for a development machine that Telegram cannot reach: the
webhook is removed, and updates are fetched with getUpdates and handled exactly as the webhook's
(stored once, then acted on in order)."""

from collections.abc import Awaitable, Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from telegram import Bot, Update

from messenger.tasks import telegram_updates
from messenger.telegram import api, inbound
from messenger.telegram.inbound import ALLOWED_UPDATES


def _fetching(offset: int, wait: int) -> Callable[[Bot], Awaitable[tuple[Update, ...]]]:
    def operation(bot: Bot) -> Awaitable[tuple[Update, ...]]:
        return bot.get_updates(offset=offset, timeout=wait, allowed_updates=ALLOWED_UPDATES)

    return operation


class Command(BaseCommand):
    help = "Fetch Telegram updates by polling (development only; production uses the webhook)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="One fetch, then stop.")
        parser.add_argument("--timeout", type=int, default=25, help="Long-polling wait in seconds.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not api.enabled():
            raise CommandError("TELEGRAM_BOT_TOKEN is not set.")
        api.call(lambda bot: bot.delete_webhook())
        offset = 0
        wait = int(options["timeout"])
        while True:
            try:
                updates = api.call(_fetching(offset, wait), timeout=wait + 10)
            except api.ApiError as exc:
                self.stderr.write(f"Telegram answered: {exc}")
                updates = ()
            for update in updates:
                offset = max(offset, update.update_id + 1)
                row, new = inbound.update_store(update.to_dict())
                if new and row is not None and row.chat_id is not None:
                    telegram_updates.delay(row.pk)
            if options["once"]:
                return
