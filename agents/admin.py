from django.contrib import admin

from agents.models import StaffProfile


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user", "role", "availability", "capacity"]
    list_filter = ["role", "availability"]
    filter_horizontal = ["queues"]
    readonly_fields = ["disconnected_at"]
