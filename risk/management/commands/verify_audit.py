"""Walks the audit trail's hash chain and checks its signed checkpoints."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from risk import signing
from risk.audit_verify import Verifier, database_verifier, published_verifier, verify_chain


class Command(BaseCommand):
    help = (
        "Verify the audit trail: every event's hash, every link to the event before, no gaps, and "
        "every signed checkpoint (its signature, and that the chain still reaches it unchanged). "
        "Exits 1 and lists each problem when anything is wrong."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--keys",
            type=Path,
            help="Check checkpoint signatures against this published key set (the JSON served at "
            "the public keys URL) instead of the keys in the database.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verifier: Verifier = database_verifier
        if options["keys"] is not None:
            try:
                verifier = published_verifier(
                    signing.load_published(json.loads(options["keys"].read_text(encoding="utf-8")))
                )
            except (OSError, ValueError) as exc:
                raise CommandError(f"Cannot read a key set from {options['keys']}: {exc}") from exc
        report = verify_chain(verifier=verifier)
        for problem in report.problems:
            self.stdout.write(f"FAILED {problem}")
        if not report.ok:
            raise CommandError(f"the audit trail shows tampering: {len(report.problems)} problem(s), listed above")
        if report.events == 0:
            self.stdout.write("OK: the audit trail is empty")
            return
        signed = (
            f"the last checkpoint covers up to {report.last_checkpoint.seq}, "
            f"signed {report.last_checkpoint.signed_at:%Y-%m-%d %H:%M:%S} UTC with key {report.last_checkpoint.key_id}"
            if report.last_checkpoint
            else "no checkpoint signed yet"
        )
        self.stdout.write(
            f"OK: {report.events} events, chained without a break from {report.first_seq} to {report.last_seq}; "
            f"{report.checkpoints} checkpoint(s) verified, {signed}"
        )
