"""A reviewed referral on its way to the destination agency (risk.delivery has the rules).

The link and the one-time code are never stored: the server derives them from its key and the
row's `nonce` when it sends, and keeps only their hashes to recognise them when they come back."""

import uuid

from django.conf import settings
from django.db import models

from risk.agency_models import Agency


class ReferralDelivery(models.Model):
    """One delivery of a referral to an agency: two emails (the link, then the code), then at
    most one opening of the link. A later delivery of the same referral cancels this one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    referral = models.ForeignKey("risk.Referral", on_delete=models.CASCADE, related_name="deliveries")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="deliveries")
    address = models.EmailField(help_text="The agency's address when the delivery was asked for.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    nonce = models.CharField(max_length=43, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    code_hash = models.CharField(max_length=64, editable=False)
    # Each email is claimed (committed) before it is handed to the mail server and marked sent
    # after; a claim without its sent time is one whose outcome nobody knows (a crash between).
    link_claimed_at = models.DateTimeField(null=True, blank=True)
    link_sent_at = models.DateTimeField(null=True, blank=True)
    code_claimed_at = models.DateTimeField(null=True, blank=True)
    code_sent_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When both emails had been accepted.")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    unconfirmed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    open_due_at = models.DateTimeField(null=True, blank=True)
    open_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    wrong_codes = models.PositiveSmallIntegerField(default=0)
    locked_at = models.DateTimeField(null=True, blank=True, help_text="Too many wrong codes: the link is closed.")
    opened_at = models.DateTimeField(null=True, blank=True, help_text="The receipt: when the agency opened it.")
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name_plural = "referral deliveries"

    def __str__(self) -> str:
        return f"delivery of {self.referral_id} to {self.agency_id}"

    @property
    def used(self) -> bool:
        """The link works once: opened, locked or replaced, it opens nothing again."""
        return bool(self.opened_at or self.locked_at or self.cancelled_at)
