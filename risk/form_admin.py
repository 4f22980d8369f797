"""Referral form versions in the administration: a draft's definition is edited here as JSON
(checked on save against the rules in risk.form_versions) and published by staff with the
permission; a published version is read-only and never deleted. Every change is kept in the
admin's change log (Administration > Log entries)."""

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from risk import form_versions, services
from risk.agency_models import Agency
from risk.form_models import ReferralFormVersion
from risk.version_admin import PublishedVersionAdmin

DEFINITION_HELP = (
    "The form as JSON: kind; title; sections (each a key, a title and fields: key, label and type "
    "text, yes_no or date); people (sections whose entries repeat: key, title, entries, fields); "
    "parts drawn from the case (criteria, checklist, excerpts); transcript (none, optional or "
    "required); submit_requires (field, value and message: what must be true to submit). Keep a "
    "field's key when you only reword it. Referrals keep the version they were drafted on."
)


class ReferralFormVersionForm(forms.ModelForm):
    class Meta:
        model = ReferralFormVersion
        fields = ["kind", "area", "version", "notes", "definition"]
        help_texts = {"definition": DEFINITION_HELP}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = cleaned.get("kind")
        if kind and "definition" in cleaned:
            for problem in form_versions.validate(cleaned["definition"], kind):
                self.add_error("definition", problem)
        label = cleaned.get("version") or ""
        if label and not form_versions.VERSION_LABEL.match(label):
            self.add_error("version", "The version label is 1 to 20 letters, digits, '.', '_' or '-'.")
        return cleaned


@admin.register(ReferralFormVersion)
class ReferralFormVersionAdmin(PublishedVersionAdmin):
    """Each kind's forms: the defaults and the areas' own. Publishing needs the permission."""

    form = ReferralFormVersionForm
    list_display = ["__str__", "kind", "area", "version", "state", "published_at", "published_by"]
    list_filter = ["kind", "state", "area"]
    search_fields = ["version", "notes"]
    actions = ["copy_as_draft", "publish"]
    record = ["state", "based_on", "created_by", "created_at", "published_by", "published_at"]
    publish_permission = form_versions.PUBLISH_PERMISSION
    draft_copy = form_versions.form_version_draft_copy

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and not self.has_change_permission(request, obj):
            return ["kind", "area", "version", "notes", "stored_definition", *self.record]
        return ["kind", "area", "version", "notes", "definition", *(self.record if obj else [])]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*self.record, "stored_definition"]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """A new version starts from the kind's shipped default (MARAC unless ?kind= says)."""
        kind = request.GET.get("kind", "marac")
        kind = kind if kind in Agency.Kind.values else "marac"
        return {"kind": kind, "definition": form_versions.shipped(kind)}

    def save_model(self, request: HttpRequest, obj: ReferralFormVersion, form: Any, change: bool) -> None:
        if not change:
            obj.created_by_id = request.user.pk
        super().save_model(request, obj, form, change)

    @admin.display(description="Definition")
    def stored_definition(self, obj: ReferralFormVersion) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.definition, indent=2, ensure_ascii=False))

    @admin.action(description="Publish (new referrals use it)", permissions=["publish"])
    def publish(self, request: HttpRequest, queryset: QuerySet[ReferralFormVersion]) -> None:
        for version in queryset:
            try:
                published = form_versions.form_version_publish(version_id=version.pk, actor=request.user)
            except services.RiskError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{published} is published: new referrals of its kind"
                    f"{' in ' + published.area.name if published.area else ' (where an area has no form of its own)'} "
                    "use it; earlier referrals keep the version they were drafted on.",
                    messages.SUCCESS,
                )
