"""Runs the retention jobs now: the chat purge, the case review, clearing expired staff
sessions. Celery beat runs them on a schedule in the scaled profile; in the embedded profile (no
beat) run this from cron, and in any profile right after restoring a backup."""

from typing import Any

from django.core.management.base import BaseCommand

from agents.tasks import sessions_clear
from chat.retention import retention_purge
from risk.retention import cases_retention_review


class Command(BaseCommand):
    help = "Erase chats and cases past their retention now (what Celery beat does on a schedule)."

    def handle(self, *args: Any, **options: Any) -> None:
        chats = retention_purge()
        cases = cases_retention_review()
        sessions_clear()
        self.stdout.write(
            f"Chats erased: {chats}. Cases due for review: {cases['due']} ({cases['flagged']} newly), "
            f"erased by the schedule: {cases['erased']}. Expired staff sessions cleared."
        )
