"""What the administration of a published version (checklist versions, referral form versions)
shares: a published version is read-only and never deleted, publishing needs the model's publish
permission, and "Copy as a new draft" starts the next version from one."""

from collections.abc import Callable
from typing import Any, ClassVar

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from risk import services
from risk.version_models import PublishedVersion


class PublishedVersionAdmin(admin.ModelAdmin):
    """Subclasses name the publish permission, the service that copies a version as a draft and
    what the draft's message asks for next."""

    publish_permission: ClassVar[str]
    draft_copy: ClassVar[Callable[..., Any]]
    draft_next_step: ClassVar[str] = "edit it, then publish it"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.state == PublishedVersion.State.PUBLISHED:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.state == PublishedVersion.State.PUBLISHED:
            return False
        return super().has_delete_permission(request, obj)

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(self.publish_permission)

    def change_url(self, version: Model) -> str:
        meta = self.model._meta
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[version.pk])

    @admin.action(description="Copy as a new draft", permissions=["add"])
    def copy_as_draft(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for version in queryset:
            try:
                draft = type(self).draft_copy(version_id=version.pk, actor=request.user)
            except services.RiskError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                continue
            self.message_user(
                request,
                format_html(
                    'Draft <a href="{}">{}</a> made from {}: {}.',
                    self.change_url(draft),
                    draft,
                    version,
                    self.draft_next_step,
                ),
                messages.SUCCESS,
            )
