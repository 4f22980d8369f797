"""A case's retention state and the register of erased cases (risk.retention uses them)."""

from django.conf import settings
from django.db import models


class CaseRetention(models.Model):
    """A case's retention state beside its record: a legal hold, and a supervisor's decision at
    review to keep it longer. Goes with the case when it is erased. (The review date itself is
    computed from the case's last activity: risk.retention.)"""

    case = models.OneToOneField("risk.CaseRecord", on_delete=models.CASCADE, primary_key=True, related_name="retention")
    hold = models.BooleanField(default=False, help_text="A legal hold: the case is neither erased nor due.")
    hold_reason = models.TextField(blank=True, max_length=1000)
    hold_set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hold_set_at = models.DateTimeField(null=True, blank=True)
    keep_until = models.DateTimeField(null=True, blank=True, help_text="Reviewed and kept: not due before this.")
    keep_reason = models.TextField(blank=True, max_length=1000)
    kept_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # When the scheduled review first found the case due (cleared when it stops being due).
    due_since = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"retention of {self.case_id}"


class CaseErasure(models.Model):
    """The register of erased cases: that a case existed and was erased, when, by whom, on what
    basis and why. It names no content of the case (the reason is written by a supervisor, who is
    told not to put the person's details in it)."""

    class Basis(models.TextChoices):
        REQUEST = "request", "On request"
        REVIEW = "review", "At retention review"
        SCHEDULE = "schedule", "Scheduled, past its review date"

    case_id = models.UUIDField(unique=True)
    reference = models.CharField(max_length=12)
    opened_on = models.DateField()
    basis = models.CharField(max_length=10, choices=Basis.choices)
    reason = models.TextField(max_length=1000)
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    erased_at = models.DateTimeField(auto_now_add=True)
    # How many rows of each kind went (no content): {"notes": 2, "snapshots": 1, ...}.
    counts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-erased_at"]

    def __str__(self) -> str:
        return f"{self.reference} erased {self.erased_at:%Y-%m-%d}"


class RiskStatistic(models.Model):
    """What the reports count of an erased case's assessments and referrals, with nothing that
    identifies the case: a risk level reached, or the criteria of a referral submitted, at an hour.
    `group` is a random id shared by the rows of one erased case (the reports count the highest
    level per case) and linked to nothing else."""

    class Kind(models.TextChoices):
        ASSESSMENT = "assessment", "Assessment"
        REFERRAL = "referral", "Referral submitted"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    at = models.DateTimeField(db_index=True)
    group = models.UUIDField()
    level = models.CharField(max_length=10, blank=True)
    criteria = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:00}"
