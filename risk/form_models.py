"""The versions of each kind's referral form (risk.referral_forms has their shape and rules).

As with the checklist, a draft is edited freely and publishing freezes it: referrals are drafted
against published versions, which are then never changed or deleted. A version belongs to one
kind and either to one MARAC area (that area's own form) or to none (the default for the areas
without one); the most recently published version of a kind and area is the one new referrals use.
"""

from django.db import models

from risk.agency_models import Agency, MaracArea
from risk.version_models import PublishedVersion


class ReferralFormVersion(PublishedVersion):
    label = "referral form"

    kind = models.CharField(max_length=10, choices=Agency.Kind.choices)
    area = models.ForeignKey(
        MaracArea,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="form_versions",
        help_text="The area whose own form this is; empty for the default of areas with none.",
    )
    version = models.CharField(max_length=20, help_text="A short label, e.g. 2026.2.")
    definition = models.JSONField(default=dict)

    class Meta:
        ordering = ["kind", "area__name", "-published_at", "-created_at"]
        permissions = [("publish_referralformversion", "Can publish a referral form version")]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "area", "version"], condition=models.Q(area__isnull=False), name="form_version_per_area"
            ),
            models.UniqueConstraint(
                fields=["kind", "version"], condition=models.Q(area__isnull=True), name="form_version_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} form {self.version} ({self.area or 'default'})"
