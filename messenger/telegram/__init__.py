"""The Telegram channel: a bot that gives a Telegram user the widget's triage, directory, queue
and chat (docs/telegram.md)."""
