"""Checks an exported transcript (JSON) against its SHA-256 seal."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from risk.services import seal, verify_document


class Command(BaseCommand):
    help = "Verify the SHA-256 seal of an exported transcript JSON file."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            document = json.loads(options["path"].read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read a transcript from {options['path']}: {exc}") from exc
        if not isinstance(document, dict) or not verify_document(document):
            content = document.get("content") if isinstance(document, dict) else None
            actual = seal(content) if isinstance(content, dict) else "unreadable"
            claimed = document.get("sha256") if isinstance(document, dict) else None
            raise CommandError(f"SEAL BROKEN: the file says {claimed}, its content hashes to {actual}")
        self.stdout.write(f"OK: the transcript matches its seal {document['sha256']}")
