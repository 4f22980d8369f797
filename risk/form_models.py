"""The versions of each kind's referral form (risk.referral_forms has their shape and rules).

As with the checklist, a draft is edited freely and publishing freezes it: referrals are drafted
against published versions, which are then never changed or deleted. A version belongs to one
kind and either to one MARAC area (that area's own form) or to none (the default for the areas
without one); the most recently published version of a kind and area is the one new referrals use.
"""

from typing import Any

from django.conf import settings
from django.db import models

from agents.audit_models import ImmutableError
from risk.agency_models import Agency, MaracArea


class ReferralFormVersionQuerySet(models.QuerySet["ReferralFormVersion"]):
    def delete(self) -> tuple[int, dict[str, int]]:
        for version in self:
            version.check_deletable()
        return super().delete()


class ReferralFormVersion(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

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
    notes = models.TextField(blank=True, max_length=4000, help_text="What changed from the version before, and why.")
    definition = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    objects = ReferralFormVersionQuerySet.as_manager()

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

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding and self._stored_state() == self.State.PUBLISHED:
            raise ImmutableError(f"referral form {self.version} is published and is never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        self.check_deletable()
        return super().delete(*args, **kwargs)

    def check_deletable(self) -> None:
        if self.state == self.State.PUBLISHED or self._stored_state() == self.State.PUBLISHED:
            raise ImmutableError(f"referral form {self.version} is published and is never deleted")

    def _stored_state(self) -> str | None:
        if self.pk is None:
            return None
        return type(self).objects.filter(pk=self.pk).values_list("state", flat=True).first()
