from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from chat import outlets


class MessengerConfig(AppConfig):
    """Ways in for visitors besides the widget (Telegram). Depends on chat; chat never imports it:
    entries reach these visitors through the outlet registered here (chat.outlets)."""

    name = "messenger"
    verbose_name = "Messaging channels"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        telegram = settings.TELEGRAM
        if telegram["BOT_TOKEN"] and not telegram["WEBHOOK_SECRET"]:
            raise ImproperlyConfigured("TELEGRAM_WEBHOOK_SECRET is required with TELEGRAM_BOT_TOKEN.")
        outlets.outlet_register(
            "telegram", "messenger.tasks.telegram_outlet", typing="messenger.tasks.telegram_typing_outlet"
        )
