"""Return phrases: the words a visitor is given at the end of a chat so that a later chat, from any
device, can be linked to the same case with their consent (risk.return_phrases).

A phrase is never stored: only its slow keyed hash (`digest`), which finds it again when the visitor
gives it back. Each use records the chat it linked and the consent given. Wrong tries are kept for
a short window so that guessing is slowed down and then refused (for one person and for everyone).
Phrases and their uses go with their case when it is erased."""

from django.conf import settings
from django.db import models


class ReturnPhrase(models.Model):
    case = models.ForeignKey("risk.CaseRecord", on_delete=models.CASCADE, related_name="return_phrases")
    digest = models.CharField(max_length=64, help_text="The phrase's slow keyed hash (the phrase itself is not kept).")
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(auto_now_add=True)
    conversation = models.ForeignKey(
        "chat.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-issued_at", "-pk"]
        constraints = [
            # A phrase finds one case: two live phrases never share a hash.
            models.UniqueConstraint(
                fields=["digest"], condition=models.Q(revoked_at__isnull=True), name="return_phrase_live_once"
            ),
        ]
        indexes = [models.Index(fields=["digest"], name="return_phrase_digest")]

    def __str__(self) -> str:
        return f"return phrase {self.pk} of {self.case_id}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class ReturnPhraseUse(models.Model):
    """A later chat linked to the case by its phrase, with the visitor's consent recorded."""

    phrase = models.ForeignKey(ReturnPhrase, on_delete=models.CASCADE, related_name="uses")
    conversation = models.ForeignKey("chat.Conversation", on_delete=models.CASCADE, related_name="+")
    consent_at = models.DateTimeField(help_text="When the advisor recorded the visitor's consent to the link.")
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["consent_at", "pk"]

    def __str__(self) -> str:
        return f"phrase {self.phrase_id} linked {self.conversation_id}"


class ReturnPhraseMiss(models.Model):
    """A wrong phrase tried by a member of staff; kept only for the throttling window. Names no case
    and holds nothing of what was typed."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"miss by {self.actor_id} at {self.at}"
