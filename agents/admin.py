from typing import Any

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from agents.models import CannedResponse, ReferralDestination, ServiceGiven, StaffProfile
from agents.services import staff_access_revoked


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user", "role", "availability", "capacity"]
    list_filter = ["role", "availability"]
    filter_horizontal = ["queues"]
    readonly_fields = ["disconnected_at"]


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ["shortcut", "title", "owner"]
    search_fields = ["shortcut", "title", "text"]


class RecordOptionAdmin(admin.ModelAdmin):
    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The figures count by slug: a slug in use never changes (relabel instead).
        return ["slug"] if obj is not None else []

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> dict[str, Any]:
        return {} if obj is not None else {"slug": ["label"]}


@admin.register(ServiceGiven)
class ServiceGivenAdmin(RecordOptionAdmin):
    """The services an advisor can tick at the end of a chat. Turn one off rather than delete
    it: the figures keep its slug."""

    list_display = ["label", "slug", "position", "active"]
    list_editable = ["position", "active"]


@admin.register(ReferralDestination)
class ReferralDestinationAdmin(RecordOptionAdmin):
    """Where an advisor can refer or signpost someone, optionally one directory entry."""

    list_display = ["label", "slug", "directory_entry", "position", "active"]
    list_editable = ["position", "active"]
    list_select_related = ["directory_entry"]
    autocomplete_fields = ["directory_entry"]


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    """Deactivating an account closes its console sockets at once."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and not obj.is_active:
            staff_access_revoked(user_id=obj.pk, reason="deactivated")


admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class StaffTOTPDeviceAdmin(TOTPDeviceAdmin):
    """Removing someone's second factor signs their consoles out at once."""

    def delete_model(self, request: HttpRequest, obj: TOTPDevice) -> None:
        user_id = obj.user_id
        super().delete_model(request, obj)
        staff_access_revoked(user_id=user_id, reason="second_factor_removed")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TOTPDevice]) -> None:
        user_ids = set(queryset.values_list("user_id", flat=True))
        super().delete_queryset(request, queryset)
        for user_id in user_ids:
            staff_access_revoked(user_id=user_id, reason="second_factor_removed")


@admin.register(LogEntry)
class AdminChangeLog(admin.ModelAdmin):
    """Who changed what in the administration (canned responses, queues, staff...), and when.
    Readable by supervisors with the permission; nobody edits or deletes it here."""

    list_display = ["action_time", "user", "content_type", "object_repr", "action_flag", "change_message"]
    list_filter = ["action_flag", "content_type"]
    search_fields = ["object_repr", "change_message", "user__username"]
    date_hierarchy = "action_time"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
