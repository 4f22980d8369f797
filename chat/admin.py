from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from chat.models import Assignment, Conversation, EmbeddingSite, Queue, ServiceStatusChange, Transfer, VisitorBlock
from chat.setup_models import (
    DirectoryEntry,
    Holiday,
    OpeningHours,
    ReferralDestination,
    Region,
    Schedule,
    ServiceGiven,
    TriageOption,
    TriageQuestion,
)


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "about", "is_default"]


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 0
    can_delete = False
    readonly_fields = ["user", "role", "started_at", "start_reason", "ended_at", "end_reason"]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    """Read-only: conversations change only through the chat services."""

    list_display = ["id", "state", "queue", "priority", "assigned_to", "created_at", "closed_at"]
    list_filter = ["state", "queue"]
    inlines = [AssignmentInline]
    exclude = ["visitor", "visitor_conn"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):
    list_display = ["conversation", "from_user", "to_user", "state", "created_at"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ServiceStatusChange)
class ServiceStatusChangeAdmin(admin.ModelAdmin):
    """The record of every surge pause and resume; read-only."""

    list_display = ["changed_at", "paused", "changed_by", "message"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- What visitors see before a human: staff with the model permissions edit these; every change
# is kept in the admin's change log (Administration > Log entries).


class TriageOptionInline(admin.TabularInline):
    model = TriageOption
    extra = 1
    fields = ["order", "value", "label", "emergency", "caution", "translations"]


@admin.register(TriageQuestion)
class TriageQuestionAdmin(admin.ModelAdmin):
    list_display = ["prompt", "key", "role", "order", "multiple", "required", "active"]
    list_editable = ["order", "active"]
    list_filter = ["active", "role"]
    inlines = [TriageOptionInline]
    fieldsets = [
        (None, {"fields": ["prompt", "help_text", "key", "role", "order", "multiple", "required", "active"]}),
        (
            "Other languages",
            {
                "fields": ["translations"],
                "description": 'Own wording per language, e.g. {"cy": {"prompt": "...", "help_text": "..."}}. '
                "Without it, the shipped translations of the default wording apply.",
            },
        ),
    ]


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "order"]
    list_editable = ["order"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(DirectoryEntry)
class DirectoryEntryAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "region", "phone", "open_24h", "active"]
    list_filter = ["kind", "region", "open_24h", "active"]
    search_fields = ["name", "description"]


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    """One row: the time zone the opening hours and holidays are read in."""

    def has_add_permission(self, request, obj=None):
        return not Schedule.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OpeningHours)
class OpeningHoursAdmin(admin.ModelAdmin):
    list_display = ["__str__", "weekday", "opens", "closes"]
    list_filter = ["weekday"]


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name", "opens", "closes"]
    date_hierarchy = "date"


@admin.register(EmbeddingSite)
class EmbeddingSiteAdmin(admin.ModelAdmin):
    """Per helpline site: the chat's neutral title and where quick exit goes. Only staff set
    these; a link cannot."""

    list_display = ["origin", "title", "exit_url"]
    search_fields = ["origin", "title"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(VisitorBlock)
class VisitorBlockAdmin(admin.ModelAdmin):
    """Read-only: blocks are made and lifted in the console (chat/blocks.py), which audits them."""

    list_display = ["created_at", "created_by", "reason", "hours", "connection", "expires_at", "lifted_at", "lifted_by"]
    list_filter = ["reason", "connection"]
    exclude = ["token_hash"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
