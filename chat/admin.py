from django.contrib import admin

from chat.models import Assignment, Conversation, Queue, ServiceStatusChange, Transfer


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
