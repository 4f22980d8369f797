"""Checks an exported transcript: its content hash, its signature against the published key, and
(unless --offline) that this server's database holds the same snapshot unchanged.

Exit status: 0 verified; 1 a file or key set that cannot be read; 2 not a signed transcript
export (truncated, damaged, extra or missing fields); 3 content changed; 4 unknown key; 5 revoked
key; 6 signature invalid; 7 snapshot not in the database; 8 snapshot differs from the database.
A PDF export is checked with its embedded PDF signature (see risk.pdf_signing)."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from risk import signing
from risk.transcripts import Refused, verify_export

MAX_KEYS_BYTES = 1_000_000


def load_keys(source: str) -> dict[str, signing.PublicKey]:
    """A published key set from a file or an http(s) URL."""
    if source.startswith(("https://", "http://")):
        import httpx

        try:
            response = httpx.get(source, timeout=15, follow_redirects=False)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise CommandError(f"Cannot fetch the published keys from {source}: {exc}") from exc
        raw = response.content[:MAX_KEYS_BYTES]
    else:
        try:
            raw = Path(source).read_bytes()[:MAX_KEYS_BYTES]
        except OSError as exc:
            raise CommandError(f"Cannot read the published keys from {source}: {exc.strerror}") from exc
    try:
        return signing.load_published(json.loads(raw))
    except ValueError as exc:
        raise CommandError(f"The keys in {source} cannot be used: {exc}") from exc


class Command(BaseCommand):
    help = "Verify an exported transcript (JSON or PDF): content hash, signature, and the stored snapshot."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--keys",
            metavar="FILE_OR_URL",
            help="The published signing keys (JSON file or URL). Default: this server's database.",
        )
        parser.add_argument(
            "--offline", action="store_true", help="Do not check that this server's database holds the snapshot."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
        keys = load_keys(options["keys"]) if options["keys"] else None
        if keys is None and options["offline"]:
            raise CommandError("--offline needs --keys: without the database the keys must come from somewhere.")
        try:
            if raw.startswith(b"%PDF-"):
                from risk.pdf_signing import verify_pdf

                report = verify_pdf(raw, keys=keys, database=not options["offline"])
                self.stdout.write(report)
                return
            verified = verify_export(raw, keys=keys, database=not options["offline"])
        except Refused as exc:
            raise CommandError(exc.message, returncode=exc.exit_code) from None
        export = verified.export
        where = "this server's database holds it unchanged" if verified.database_checked else "database not consulted"
        self.stdout.write(
            f"OK: transcript of case {export.content.case}, snapshot {export.snapshot}\n"
            f"  content SHA-256 {export.sha256} (matches the content)\n"
            f"  signed {verified.signed_at.isoformat()} by key {verified.key_id} (signature valid)\n"
            f"  {where}"
        )
