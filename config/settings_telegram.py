"""Settings of the Telegram channel (messenger/, docs/telegram.md); part of config.settings.
Off while TELEGRAM_BOT_TOKEN is empty; with a token, the webhook secret is required."""

import json
import os
from typing import Any

from config.env import env_bool

TELEGRAM: dict[str, Any] = {
    "BOT_TOKEN": os.environ.get("TELEGRAM_BOT_TOKEN", ""),
    # Telegram sends it in X-Telegram-Bot-Api-Secret-Token; 1-256 of A-Z a-z 0-9 _ -.
    "WEBHOOK_SECRET": os.environ.get("TELEGRAM_WEBHOOK_SECRET", ""),
    # This server's public https address, as Telegram reaches it (the webhook is PUBLIC_URL + /telegram/webhook/).
    "PUBLIC_URL": os.environ.get("TELEGRAM_PUBLIC_URL", ""),
    "API_URL": os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org"),
    # Rate limits: at most one message to a chat every PER_CHAT_SECONDS, GLOBAL_PER_SECOND in all.
    "PER_CHAT_SECONDS": float(os.environ.get("TELEGRAM_PER_CHAT_SECONDS", "0.5")),
    "GLOBAL_PER_SECOND": int(os.environ.get("TELEGRAM_GLOBAL_PER_SECOND", "25")),
    # Telegram unreachable: tries per delivery run, and the wait before the next (doubling).
    "SEND_ATTEMPTS": int(os.environ.get("TELEGRAM_SEND_ATTEMPTS", "5")),
    "RETRY_SECONDS": float(os.environ.get("TELEGRAM_RETRY_SECONDS", "2")),
    # Telegram unreachable this long: what waits to go is given up (the advisor is told).
    "GIVE_UP_HOURS": float(os.environ.get("TELEGRAM_GIVE_UP_HOURS", "24")),
    # Updates (messages, button presses) one Telegram account may send a minute; more are not
    # acted on, and the visitor is asked to slow down (/exit always works).
    "UPDATES_PER_MINUTE": int(os.environ.get("TELEGRAM_UPDATES_PER_MINUTE", "60")),
    # A queued visitor is told their place again this often.
    "WAITING_NOTE_MINUTES": float(os.environ.get("TELEGRAM_WAITING_NOTE_MINUTES", "5")),
    # Where no Celery worker runs (the embedded profile), Telegram calls go to a thread of their
    # own (messenger/background.py) instead of the thread that queued them; false runs them in
    # place, in order (the tests).
    "DELIVERY_THREAD": env_bool("TELEGRAM_DELIVERY_THREAD", default=True),
    # The bot's texts, by key (messenger/telegram/texts.py), replacing the neutral defaults.
    "TEXTS": json.loads(os.environ.get("TELEGRAM_TEXTS", "{}")),
}
