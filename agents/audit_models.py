"""The audit trail's events and the chain's head (agents.audit has the rules; the signed
checkpoints are risk.audit_models.AuditCheckpoint).

The head row is where appends queue: each append locks it, takes the next place in the chain
and moves it on. It is bookkeeping, not evidence: what proves the chain is each event's hash and
the checkpoints, which sign the chain's head with the server's key at a moment.

The tables keep the names they had when the trail lived in the risk app."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class ImmutableError(Exception):
    pass


class AuditEvent(models.Model):
    """Append-only: who read, exported or changed which case or referral, and when.

    `case_id` and `referral_id` name their record by id only (a plain column, no relation):
    erasing a case leaves its events behind as tombstones that still say who did what and when,
    and name no content. `detail` holds ids, hashes and counts, never what was said."""

    at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=40)
    case_id = models.UUIDField(null=True, blank=True, db_index=True)
    referral_id = models.UUIDField(null=True, blank=True, db_index=True)
    detail = models.JSONField(default=dict, blank=True)
    # The hash chain (agents.audit): the event's place in it, the hash of the event before it, and
    # the SHA-256 of this event's canonical form (which includes prev_hash).
    seq = models.PositiveBigIntegerField(unique=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False, db_index=True)

    class Meta:
        db_table = "risk_auditevent"
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise ImmutableError("the audit trail is append-only")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ImmutableError("the audit trail is append-only")


class AuditChainHead(models.Model):
    """One row (id 1): the last event's place in the chain and its hash."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        db_table = "risk_auditchainhead"
        verbose_name = "audit chain head"

    def __str__(self) -> str:
        return f"audit chain at {self.seq}"
