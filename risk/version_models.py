"""What the checklist's versions and the referral forms' versions share: a draft edited freely,
frozen once published (records were made against it), with who made and published it."""

from typing import Any

from django.conf import settings
from django.db import models

from agents.audit_models import ImmutableError


class FrozenOnceIn(models.QuerySet[Any]):
    """A queryset whose bulk delete asks each version first (`check_deletable`)."""

    def delete(self) -> tuple[int, dict[str, int]]:
        for version in self:
            version.check_deletable()
        return super().delete()


class PublishedVersion(models.Model):
    """A version of some versioned data (`definition`). `label` names it in refusals; a subclass
    says which fields may still change once it is published (`CHANGEABLE_WHEN_PUBLISHED`) and
    extends `check_deletable` with what else keeps it."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    CHANGEABLE_WHEN_PUBLISHED: frozenset[str] = frozenset()
    label = "version"

    notes = models.TextField(blank=True, max_length=4000, help_text="What changed from the version before, and why.")
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

    objects = FrozenOnceIn.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        published = not self._state.adding and self._stored_state() == self.State.PUBLISHED
        changing = set(kwargs.get("update_fields") or ["*"])
        if published and not changing <= self.CHANGEABLE_WHEN_PUBLISHED:
            raise ImmutableError(f"{self.label} {self.version} is published and is never changed")  # type: ignore[attr-defined]
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        self.check_deletable()
        return super().delete(*args, **kwargs)

    def check_deletable(self) -> None:
        """Records were (or may have been) made against a published version: keep it."""
        if self.state == self.State.PUBLISHED or self._stored_state() == self.State.PUBLISHED:
            raise ImmutableError(f"{self.label} {self.version} is published and is never deleted")  # type: ignore[attr-defined]

    def _stored_state(self) -> str | None:
        if self.pk is None:
            return None
        return type(self).objects.filter(pk=self.pk).values_list("state", flat=True).first()
