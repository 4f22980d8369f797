from typing import Any

from django.core.management.base import BaseCommand

from chat.protocol_doc import doc_path, rewrite


class Command(BaseCommand):
    help = "Rewrite the generated reference in docs/protocol.md from chat.protocol's schemas."

    def handle(self, *args: Any, **options: Any) -> None:
        path = doc_path()
        path.write_text(rewrite(path.read_text()))
        self.stdout.write(f"Rewrote the reference in {path.name}")
