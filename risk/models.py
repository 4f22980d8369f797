"""Case records, risk assessments, sealed transcript snapshots, MARAC referrals, the append-only
audit trail of every read, export and change of them, and the versions of the risk checklist."""

import secrets
import uuid
from typing import Any

from django.conf import settings
from django.db import models

from agents.audit_models import ImmutableError
from risk.agency_models import Agency, MaracArea  # noqa: F401  (its own module, registered with this app)
from risk.form_models import ReferralFormVersion  # its own module, registered with this app
from risk.version_models import PublishedVersion

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_reference(prefix: str) -> str:
    return prefix + "-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


def case_reference() -> str:
    return new_reference("C")


def referral_reference() -> str:
    return new_reference("M")


# A referral's reference says its kind at a glance (agents.audit knows these letters too).
REFERRAL_PREFIX = {"marac": "M", "idva": "I", "mash": "S", "police": "P"}


def referral_reference_for(kind: str) -> str:
    return new_reference(REFERRAL_PREFIX.get(kind, "M"))


class CaseRecord(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=12, unique=True, default=case_reference)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cases")
    shared_with = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="shared_cases")
    area = models.CharField(max_length=100, blank=True, help_text="Decides which MARAC hears a referral.")
    outcome = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.reference


class CaseConversation(models.Model):
    """A conversation attached to a case; its text then follows the case's retention."""

    case = models.ForeignKey(CaseRecord, on_delete=models.CASCADE, related_name="conversation_links")
    conversation = models.ForeignKey("chat.Conversation", on_delete=models.PROTECT, related_name="case_links")
    linked_at = models.DateTimeField(auto_now_add=True)
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "conversation"], name="case_conversation_once")]

    def __str__(self) -> str:
        return f"{self.case_id} ~ {self.conversation_id}"


class CaseNote(models.Model):
    """A note on the case record (kept with it; never edited, a later note corrects an earlier)."""

    case = models.ForeignKey(CaseRecord, on_delete=models.CASCADE, related_name="notes")
    text = models.TextField(max_length=4000)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"note on {self.case_id}"


class Incident(models.Model):
    """An incident reported to police or identified by an agency. The escalation criterion counts
    those reported to the police (`reported_to_police`); `reported_to` says who, in words."""

    case = models.ForeignKey(CaseRecord, on_delete=models.CASCADE, related_name="incidents")
    occurred_on = models.DateField()
    reported_to = models.CharField(max_length=100, blank=True)
    reported_to_police = models.BooleanField(default=False)
    note = models.TextField(blank=True, max_length=2000)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_on"]

    def __str__(self) -> str:
        return f"incident {self.occurred_on}"


class Assessment(models.Model):
    """One walk through the checklist, against one version of it. `answers` maps item keys to
    {"value": "yes" | "no" | "dont_know", "ticks": [key, ...], "source": str, "comment": str} (ticks
    only on items that define them, kept while the value is yes); a missing key is "not asked".
    `professional` maps the keys of the version's professional fields to their values: a list of
    option keys, "yes" | "no" | "dont_know", text, or a date as "YYYY-MM-DD"."""

    case = models.ForeignKey(CaseRecord, on_delete=models.CASCADE, related_name="assessments")
    conversation = models.ForeignKey("chat.Conversation", null=True, blank=True, on_delete=models.SET_NULL)
    version = models.CharField(max_length=20)
    before_you_ask = models.JSONField(default=dict, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    professional = models.JSONField(default=dict, blank=True)
    has_children = models.BooleanField(default=False)
    honour_flag = models.BooleanField(default=False)
    judgement_high = models.BooleanField(default=False)
    judgement_reason = models.TextField(blank=True, max_length=4000)
    score = models.PositiveSmallIntegerField(default=0)
    level = models.CharField(max_length=10, default="standard")
    criteria = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"assessment {self.pk} ({self.version})"


def empty_definition() -> dict[str, list[dict[str, str]]]:
    return {"before_you_ask": [], "core": [], "children": [], "stalking": [], "honour": []}


class ChecklistVersion(PublishedVersion):
    """One version of the risk checklist (risk.checklist has the in-memory shape and the rules).

    A draft is edited freely. Publishing (risk.checklist_versions.checklist_version_publish) freezes it:
    assessments are answered against published versions, so a published version is never
    changed or deleted; only which one is current moves. One version is current for each
    audience (the key of the definition's audience, set when it is published)."""

    # Once published, only which version is current may change.
    CHANGEABLE_WHEN_PUBLISHED = frozenset({"is_current"})
    label = "checklist"

    version = models.CharField(max_length=20, unique=True, help_text="A short label, e.g. 2026.2.")
    definition = models.JSONField(default=empty_definition)
    is_current = models.BooleanField(default=False, help_text="New assessments use the current version.")
    audience = models.CharField(
        max_length=20, default="adult", editable=False, help_text="Whom the version is for: one is current for each."
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("publish_checklistversion", "Can publish a checklist version and make it current")]
        constraints = [
            models.UniqueConstraint(
                fields=["audience"], condition=models.Q(is_current=True), name="one_current_checklist_per_audience"
            ),
            models.CheckConstraint(
                condition=models.Q(is_current=False) | models.Q(state="published"),
                name="current_checklist_is_published",
            ),
        ]

    def __str__(self) -> str:
        return f"Checklist {self.version}"

    def check_deletable(self) -> None:
        super().check_deletable()
        if Assessment.objects.filter(version=self.version).exists():
            raise ImmutableError(f"assessments were answered against checklist {self.version}")


class SafeguardingDecision(models.Model):
    """Whether a safeguarding referral for the children is needed, decided on a date and why.
    Kept on the case until the multi-agency referral pathway takes it over; never changed (a
    later decision is a new row), written by risk.services.safeguarding_decision_record."""

    case = models.ForeignKey(CaseRecord, on_delete=models.CASCADE, related_name="safeguarding_decisions")
    assessment = models.ForeignKey(Assessment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    needed = models.BooleanField()
    decided_on = models.DateField()
    reason = models.TextField(blank=True, max_length=2000)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recorded_at", "pk"]

    def __str__(self) -> str:
        return f"safeguarding {'needed' if self.needed else 'not needed'} {self.decided_on}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableError("a safeguarding decision is never changed; record a new one")
        super().save(*args, **kwargs)


class TranscriptSnapshot(models.Model):
    """A frozen copy of a conversation's transcript, sealed with the SHA-256 of its canonical
    serialisation and signed with the server's key (risk.transcripts). Never changed after it is
    made; a snapshot made before signing existed is signed once, when first exported."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(CaseRecord, on_delete=models.PROTECT, related_name="snapshots")
    conversation = models.ForeignKey("chat.Conversation", on_delete=models.PROTECT, related_name="+")
    content = models.JSONField()
    sha256 = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    pdf = models.BinaryField(null=True, blank=True, editable=False)
    key_id = models.CharField(max_length=40, blank=True, editable=False)
    signature = models.CharField(max_length=100, blank=True, editable=False)
    signed_at = models.DateTimeField(null=True, blank=True, editable=False)

    SIGNATURE_FIELDS = ("key_id", "signature", "signed_at")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"snapshot {self.sha256[:12]}"

    def save(self, *args: object, **kwargs: object) -> None:
        fields = set(kwargs.get("update_fields") or ())  # type: ignore[call-overload]
        signing = set(self.SIGNATURE_FIELDS) <= fields <= {*self.SIGNATURE_FIELDS, "pdf"}
        if self._state.adding or fields == {"pdf"} or (signing and self._signature_replaceable()):
            super().save(*args, **kwargs)  # type: ignore[arg-type]
            return
        raise ImmutableError("a transcript snapshot is never changed")

    def _signature_replaceable(self) -> bool:
        """Only a missing signature (a snapshot from before signing) or one made with a key that
        was revoked by then may be replaced; the content and its hash never change."""
        stored = type(self).objects.filter(pk=self.pk).values("key_id", "signature", "signed_at").first()
        if stored is None:
            return False
        if not stored["signature"]:
            return True
        key = SigningKey.objects.filter(key_id=stored["key_id"]).first()
        return bool(key and key.revoked_from and stored["signed_at"] and stored["signed_at"] >= key.revoked_from)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ImmutableError("a transcript snapshot is never deleted")


class Referral(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        UNDER_REVIEW = "under_review", "Under review"
        RETURNED = "returned", "Returned for more information"
        ACCEPTED = "accepted", "Accepted"
        SENT = "sent", "Sent to the agency"
        LISTED = "listed", "Listed for a meeting"
        HEARD = "heard", "Heard"
        CLOSED = "closed", "Closed"
        WITHDRAWN = "withdrawn", "Withdrawn"

    # A referral's kind is the kind of agency it goes to.
    Kind = Agency.Kind

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=12, unique=True, default=referral_reference)
    kind = models.CharField(max_length=10, choices=Agency.Kind.choices, default=Agency.Kind.MARAC)
    case = models.ForeignKey(CaseRecord, on_delete=models.PROTECT, related_name="referrals")
    assessment = models.ForeignKey(Assessment, null=True, blank=True, on_delete=models.SET_NULL)
    state = models.CharField(max_length=15, choices=State.choices, default=State.DRAFT)
    urgent = models.BooleanField(default=False)
    area = models.CharField(max_length=100, blank=True)
    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals", help_text="Its destination."
    )
    form = models.JSONField(default=dict, blank=True)
    form_version = models.ForeignKey(
        ReferralFormVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referrals",
        help_text="The form it was drafted on; none for referrals drafted before forms were versioned.",
    )
    snapshot = models.ForeignKey(
        "TranscriptSnapshot",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The sealed transcript attached to it.",
    )
    criteria = models.JSONField(default=list, blank=True)
    score = models.PositiveSmallIntegerField(default=0)
    repeat_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referrals_made")
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    meeting_on = models.DateField(null=True, blank=True)
    outcome = models.TextField(blank=True)
    due_reminder_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-urgent", "due_at", "created_at"]

    def __str__(self) -> str:
        return self.reference


class ReferralTransition(models.Model):
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=15)
    to_state = models.CharField(max_length=15)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True, max_length=4000)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_state} -> {self.to_state}"


from risk.audit_models import AuditCheckpoint  # noqa: E402, F401  (registered with this app)
from risk.delivery_models import ReferralDelivery  # noqa: E402, F401  (its own module, registered with this app)
from risk.key_models import SigningKey  # noqa: E402  (its own module, registered with this app)
from risk.outcome_models import MaracAction, MeetingOutcome, PerpetratorKey  # noqa: E402, F401  (its own module)
from risk.retention_models import CaseErasure, CaseRetention, RiskStatistic  # noqa: E402, F401  (its own module)
from risk.return_phrase_models import ReturnPhrase, ReturnPhraseMiss, ReturnPhraseUse  # noqa: E402, F401
