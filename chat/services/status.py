"""The service's status: whether new chats may start (the surge pause)."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from chat import reference, visitor_text
from chat.engine import events
from chat.errors import ProtocolError
from chat.models import ServiceStatus, ServiceStatusChange
from chat.services.kernel import StaffActor

DEFAULT_PAUSE_MESSAGE = visitor_text.DEFAULT_PAUSE_MESSAGE


@reference.memo(ttl=2, models=("chat.servicestatus",))
def service_status() -> dict[str, Any]:
    """Whether new chats may start (the surge pause), and what visitors are told if not.
    Cached (chat.reference): other processes see a pause within two seconds."""
    status = ServiceStatus.objects.select_related("changed_by__staff").filter(pk=1).first()
    if status is None:
        return {"paused": False, "message": "", "changed_at": None, "changed_by": ""}
    by = status.changed_by
    return {
        "paused": status.paused,
        "message": (status.message or DEFAULT_PAUSE_MESSAGE) if status.paused else "",
        "changed_at": status.changed_at.isoformat() if status.changed_at else None,
        "changed_by": getattr(getattr(by, "staff", None), "display_name", "") if by else "",
    }


def service_pause_set(*, actor: StaffActor, paused: bool, message: str) -> dict[str, Any]:
    """Supervisors: pause or resume new chats. Chats already queued or under way carry on."""
    if not actor.is_supervisor:
        raise ProtocolError("forbidden")
    with transaction.atomic():
        status, _ = ServiceStatus.objects.select_for_update().get_or_create(pk=1)
        status.paused = paused
        status.message = message.strip()
        status.changed_at = timezone.now()
        status.changed_by_id = actor.user_id
        status.save()
        ServiceStatusChange.objects.create(paused=paused, message=status.message, changed_by_id=actor.user_id)

        def send() -> None:
            events.send_now([(events.SUPERVISORS_GROUP, {"type": "chat.service_status", "status": service_status()})])

        transaction.on_commit(send)
    return service_status()
