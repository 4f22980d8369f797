"""The signed checkpoints of the audit chain (agents.audit has the chain's rules, risk.checkpoints
signs them with the server's key).

What proves the chain is each event's hash and the checkpoints, which sign the chain's head with
the server's key at a moment."""

from django.db import models


class AuditCheckpoint(models.Model):
    """A signature over the chain's head at a moment: events up to `seq` are covered, and the one
    at `seq` had `hash`. Append-only, like the events."""

    class Reason(models.TextChoices):
        SCHEDULE = "schedule", "Scheduled"
        EXPORT = "export", "Transcript export"
        MANUAL = "manual", "Operator"

    seq = models.PositiveBigIntegerField(editable=False)
    hash = models.CharField(max_length=64, editable=False)
    signed_at = models.DateTimeField(editable=False)
    reason = models.CharField(max_length=10, choices=Reason.choices, editable=False)
    key_id = models.CharField(max_length=40, editable=False)
    signature = models.CharField(max_length=100, editable=False)

    class Meta:
        ordering = ["seq", "pk"]

    def __str__(self) -> str:
        return f"checkpoint at {self.seq} ({self.signed_at:%Y-%m-%d %H:%M})"
