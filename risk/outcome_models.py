"""What comes back from a MARAC meeting (the outcome of a referral heard there and the actions
agreed, each owned by an agency), and the keyed hashes that let supervisors see that two cases
may name the same perpetrator. Changed only through risk.outcomes and risk.perpetrators."""

from django.conf import settings
from django.db import models

from risk.agency_models import Agency


class MeetingOutcome(models.Model):
    """The outcome of one MARAC referral: when the meeting heard it and what it decided."""

    referral = models.OneToOneField("risk.Referral", on_delete=models.CASCADE, related_name="meeting_outcome")
    case = models.ForeignKey("risk.CaseRecord", on_delete=models.CASCADE, related_name="meeting_outcomes")
    heard_on = models.DateField()
    summary = models.TextField(max_length=4000)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-heard_on", "-recorded_at"]

    def __str__(self) -> str:
        return f"outcome heard {self.heard_on}"


class MaracAction(models.Model):
    """An action the meeting agreed, owned by an agency of the directory or, when the agency is
    not in it, one named in words. `agency_name` always holds the name as it was agreed."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        NOT_DONE = "not_done", "Not done"

    outcome = models.ForeignKey(MeetingOutcome, on_delete=models.CASCADE, related_name="actions")
    agency = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agency_name = models.CharField(max_length=150)
    description = models.TextField(max_length=2000)
    due_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    status_at = models.DateTimeField(null=True, blank=True)
    status_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_on", "pk"]

    def __str__(self) -> str:
        return f"action for {self.agency_name} due {self.due_on}"


class PerpetratorKey(models.Model):
    """One keyed hash of a perpetrator's normalised name (or an alias) with their date of birth,
    as a referral's form names them. Never the name itself: two rows with the same `key` are a
    possible link between their cases. Rebuilt whenever the referral's form changes."""

    referral = models.ForeignKey("risk.Referral", on_delete=models.CASCADE, related_name="perpetrator_keys")
    case = models.ForeignKey("risk.CaseRecord", on_delete=models.CASCADE, related_name="perpetrator_keys")
    key = models.CharField(max_length=64, db_index=True)
    alias = models.BooleanField(default=False, help_text="Made from an alias rather than the name.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["referral", "key"], name="perpetrator_key_once_per_referral")]

    def __str__(self) -> str:
        return f"perpetrator key {self.key[:12]}"
