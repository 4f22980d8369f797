"""Tell Telegram where the webhook is (`set`), stop it (`delete`), or show what it knows (`info`)."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from messenger.telegram import api
from messenger.telegram.inbound import ALLOWED_UPDATES

PATH = "/telegram/webhook/"


class Command(BaseCommand):
    help = "Set, delete or show the Telegram bot's webhook."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["set", "delete", "info"])
        parser.add_argument("--drop-pending", action="store_true", help="set/delete: forget updates not yet sent.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not api.enabled():
            raise CommandError("TELEGRAM_BOT_TOKEN is not set.")
        action = options["action"]
        try:
            if action == "set":
                self._set(drop=options["drop_pending"])
            elif action == "delete":
                api.call(lambda bot: bot.delete_webhook(drop_pending_updates=options["drop_pending"]))
                self.stdout.write("Webhook deleted.")
            else:
                self._info()
        except api.ApiError as exc:
            raise CommandError(f"Telegram answered: {exc}") from None

    def _set(self, *, drop: bool) -> None:
        public = settings.TELEGRAM["PUBLIC_URL"].rstrip("/")
        if not public.startswith("https://"):
            raise CommandError("TELEGRAM_PUBLIC_URL must be this server's https address.")
        url = public + PATH
        api.call(
            lambda bot: bot.set_webhook(
                url=url,
                secret_token=settings.TELEGRAM["WEBHOOK_SECRET"],
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=drop,
            )
        )
        self.stdout.write(f"Webhook set: {url}")

    def _info(self) -> None:
        info = api.call(lambda bot: bot.get_webhook_info())
        self.stdout.write(f"url: {info.url or '(none)'}")
        self.stdout.write(f"pending updates: {info.pending_update_count}")
        if info.last_error_message:
            self.stdout.write(f"last error: {info.last_error_message}")
