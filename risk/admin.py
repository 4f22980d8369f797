"""Read-only views for supervisors who use the administration; rows come through the same gate
as everywhere else, every record opened is audited, and nothing here edits the audit trail.
Checklist versions (risk.checklist_admin) are edited as drafts and published by staff with the
permission; the signing keys (risk.key_admin) are read-only."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from agents.audit_models import AuditEvent
from risk import referrals, selectors, services
from risk.models import Agency, CaseRecord, MaracArea, Referral


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CaseRecord)
class CaseRecordAdmin(ReadOnly):
    list_display = ["reference", "owner", "area", "created_at"]
    search_fields = ["reference"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CaseRecord]:
        return selectors.visible_cases(request.user)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        try:
            services.case_for_user(user=request.user, case_id=object_id, action="read_admin")
        except services.NotFound:
            raise Http404 from None
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Referral)
class ReferralAdmin(ReadOnly):
    list_display = ["reference", "state", "urgent", "area", "due_at"]
    list_filter = ["state", "urgent"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Referral]:
        return selectors.visible_referrals(request.user)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        try:
            referrals.referral_for_user(user=request.user, referral_id=object_id, action="read_admin")
        except services.NotFound:
            raise Http404 from None
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnly):
    """Supervisors read the whole trail (refusals and the tombstones of erased cases included);
    others the events of the cases they may see. Records are named by id: an erased case's events
    outlive it."""

    list_display = ["seq", "at", "actor", "action", "case_id", "referral_id"]
    list_filter = ["action"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        if selectors.is_supervisor(request.user):
            return AuditEvent.objects.all()
        return AuditEvent.objects.filter(case_id__in=selectors.visible_cases(request.user).values("pk"))


from risk import checklist_admin, form_admin, key_admin  # noqa: E402, F401  (checklist and form versions; signing keys)


class AgencyInline(admin.StackedInline):
    model = Agency
    extra = 0
    fields = ["kind", "name", "email", "active"]


@admin.register(MaracArea)
class MaracAreaAdmin(admin.ModelAdmin):
    """The directory of agencies: each area, the regions it serves and its agencies."""

    list_display = ["name", "served_regions"]
    # Tick boxes: a short list, and the two-box filter widget fails axe-core's ARIA rules.
    formfield_overrides = {models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple}}
    inlines = [AgencyInline]

    @admin.display(description="Regions")
    def served_regions(self, obj: MaracArea) -> str:
        return ", ".join(region.name for region in obj.regions.all()) or "none"


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "area", "email", "active"]
    list_filter = ["kind", "active", "area"]
