"""Manage the server's signing keys.

signing_key generate            the first key (refuses if a current key exists)
signing_key rotate              a new current key; the old one stays valid for what it signed
signing_key revoke KEY_ID --from 2026-05-01T00:00:00+00:00 --reason "..."
                                refuse the key's signatures from that time on
signing_key list                every key and its state
signing_key export [FILE]       the published key set (JSON), for recipients who verify offline
"""

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from risk import signing
from risk.key_models import SigningKey
from risk.models import TranscriptSnapshot
from risk.transcripts import signature_revoked, snapshot_resign


class Command(BaseCommand):
    help = "Generate, rotate, revoke, list or export the server's signing keys."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("generate", help="Make the first signing key.")
        sub.add_parser("rotate", help="Make a new current key; earlier keys stay valid for what they signed.")
        revoke = sub.add_parser("revoke", help="Refuse a key's signatures from a date on.")
        revoke.add_argument("key_id")
        revoke.add_argument(
            "--from",
            dest="revoked_from",
            required=True,
            help="ISO date and time with zone (e.g. 2026-05-01T00:00:00+00:00), or 'now'.",
        )
        revoke.add_argument("--reason", required=True)
        sub.add_parser("resign", help="Sign again the snapshots signed with a key revoked by then.")
        sub.add_parser("list", help="Every key and its state.")
        export = sub.add_parser("export", help="Write the published key set (JSON).")
        export.add_argument("file", nargs="?", type=Path, help="Default: standard output.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "generate":
                if SigningKey.objects.filter(is_current=True).exists():
                    raise CommandError("There is a current key already: use `signing_key rotate` to replace it.")
                self._made(signing.key_generate(make_current=True))
            elif action == "rotate":
                previous = SigningKey.objects.filter(is_current=True).first()
                key = signing.key_generate(make_current=True)
                self._made(key)
                if previous is not None:
                    self.stdout.write(f"{previous.key_id} is retired: it stays valid for what it signed.")
            elif action == "revoke":
                key = signing.key_revoke(
                    key_id=options["key_id"], revoked_from=self._when(options["revoked_from"]), reason=options["reason"]
                )
                assert key.revoked_from is not None
                self.stdout.write(
                    f"{key.key_id} is revoked from {key.revoked_from.isoformat()}: its signatures from then on are "
                    "refused."
                )
                if not SigningKey.objects.filter(is_current=True).exists():
                    self.stdout.write("There is no current key now: run `signing_key rotate` before the next export.")
            elif action == "resign":
                self._resign()
            elif action == "list":
                self._list()
            else:
                body = json.dumps(signing.published_keys(), indent=2, sort_keys=True) + "\n"
                if options["file"]:
                    options["file"].write_text(body, encoding="utf-8")
                    self.stdout.write(f"Wrote the published keys to {options['file']}")
                else:
                    self.stdout.write(body, ending="")
        except (ValueError, signing.SignatureError, signing.SigningUnavailable, OSError) as exc:
            raise CommandError(str(exc)) from exc

    def _when(self, value: str) -> datetime:
        if value == "now":
            return timezone.now()
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise CommandError(f"--from {value!r} is not an ISO date and time.") from None
        if timezone.is_naive(parsed):
            raise CommandError(f"--from {value!r} needs a time zone, e.g. {value}+00:00.")
        return parsed

    def _made(self, key: SigningKey) -> None:
        self.stdout.write(
            f"Made key {key.key_id}; it signs from now on. Its private half is {signing.key_file(key.key_id)}: "
            "keep that file readable only by the service, and back it up somewhere safe."
        )

    def _resign(self) -> None:
        revoked = SigningKey.objects.filter(revoked_from__isnull=False).values_list("key_id", flat=True)
        done = 0
        for snapshot in TranscriptSnapshot.objects.filter(key_id__in=list(revoked)).iterator():
            if signature_revoked(snapshot):
                snapshot_resign(snapshot=snapshot)
                done += 1
                self.stdout.write(f"snapshot {snapshot.pk} signed again with {snapshot.key_id}")
        self.stdout.write(f"{done} snapshot(s) signed again; send recipients of their earlier exports the new ones.")

    def _list(self) -> None:
        for key in SigningKey.objects.order_by("created_at", "pk"):
            state = "current" if key.is_current else "retired" if key.retired_at else "not in use"
            if key.revoked_from:
                state += f", revoked from {key.revoked_from.isoformat()} ({key.revoked_reason})"
            has_private = signing.key_file(key.key_id).exists()
            self.stdout.write(
                f"{key.key_id}  made {key.created_at.isoformat()}  {state}"
                f"{'' if has_private else '  (no private key file here)'}"
            )
