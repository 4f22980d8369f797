"""Sending a referral delivery's two emails (the Celery task's body) and raising to supervisors
the deliveries that need them. See risk.delivery for the guarantees; in short: each email is
claimed in a committed transaction before the mail server gets it, so none is ever sent twice."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from agents.services import staff_group
from chat.engine import events
from risk import delivery_mail
from risk.delivery_core import audit, delivery_code, delivery_link, tell_supervisors
from risk.delivery_models import ReferralDelivery
from risk.models import Referral, ReferralTransition

LINK = "link"
CODE = "code"


# --- Sending (the Celery task's body) ------------------------------------------------------------


def _claim(delivery_id: str, part: str) -> ReferralDelivery | None:
    """Claim one email of the delivery, committed before it is sent; None when it is not to be
    sent (already sent, claimed by a send whose outcome is unknown, cancelled or failed)."""
    with transaction.atomic():
        delivery = ReferralDelivery.objects.select_for_update().select_related("referral").get(pk=delivery_id)
        claimed, sent = f"{part}_claimed_at", f"{part}_sent_at"
        if getattr(delivery, sent) or getattr(delivery, claimed) or delivery.cancelled_at or delivery.failed_at:
            return None
        setattr(delivery, claimed, timezone.now())
        delivery.attempts += 1
        if part == LINK:
            delivery.expires_at = timezone.now() + timedelta(hours=float(settings.RISK["DELIVERY_LINK_HOURS"]))
        delivery.save(update_fields=[claimed, "attempts", "expires_at"])
    return delivery


def _release(delivery: ReferralDelivery, part: str, error: str, *, final: bool) -> None:
    with transaction.atomic():
        fields = [f"{part}_claimed_at", "last_error"]
        setattr(delivery, f"{part}_claimed_at", None)
        delivery.last_error = error
        if final:
            delivery.failed_at = timezone.now()
            fields.append("failed_at")
        delivery.save(update_fields=fields)
        audit(delivery, "delivery_failed" if final else "delivery_retry", delivery_error=error)
        if final:
            tell_supervisors(delivery)


def _mark_sent(delivery: ReferralDelivery, part: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        setattr(delivery, f"{part}_sent_at", now)
        fields = [f"{part}_sent_at", "last_error"]
        delivery.last_error = ""
        if delivery.link_sent_at and delivery.code_sent_at:
            delivery.sent_at = now
            delivery.open_due_at = now + timedelta(hours=float(settings.RISK["DELIVERY_OPEN_DUE_HOURS"]))
            fields += ["sent_at", "open_due_at"]
        delivery.save(update_fields=fields)
        audit(delivery, f"delivery_{part}_sent")
        if delivery.sent_at:
            _referral_sent(delivery)


def _referral_sent(delivery: ReferralDelivery) -> None:
    """An accepted IDVA, safeguarding or police referral is "sent" once both emails have gone,
    in the name of the supervisor who asked for the delivery. A MARAC referral is listed for its
    meeting instead, and one already moved on (or withdrawn meanwhile) stays as it is."""
    referral = Referral.objects.select_for_update().get(pk=delivery.referral_id)
    if referral.kind == Referral.Kind.MARAC or referral.state != Referral.State.ACCEPTED:
        return
    referral.state = Referral.State.SENT
    referral.save(update_fields=["state"])
    ReferralTransition.objects.create(
        referral=referral,
        from_state=Referral.State.ACCEPTED,
        to_state=Referral.State.SENT,
        by_id=delivery.requested_by_id,
        reason=f"Delivered to {delivery.agency.name}.",
    )
    audit(delivery, "sent")
    notice = {
        "referral_id": str(referral.pk),
        "reference": referral.reference,
        "state": referral.state,
        "urgent": referral.urgent,
    }
    events.emit_on_commit([(staff_group(referral.created_by_id), {"type": "chat.referral", "referral": notice})])


def delivery_send(*, delivery_id: str, last_try: bool = False) -> str:
    """Send what is left of a delivery's two emails. Returns "sent", "retry" (the mail server
    could not take it now: try again later), "failed" or "skipped" (nothing to send)."""
    for part in (LINK, CODE):
        delivery = _claim(delivery_id, part)
        if delivery is None:
            current = ReferralDelivery.objects.get(pk=delivery_id)
            if getattr(current, f"{part}_sent_at"):
                continue
            return "skipped"
        if part == LINK:
            message = delivery_mail.link_message(delivery, link=delivery_link(delivery))
        else:
            message = delivery_mail.code_message(delivery, code=delivery_code(delivery))
        try:
            delivery_mail.send(message)
        except delivery_mail.MailUnreachable as exc:
            _release(delivery, part, exc.code, final=last_try)
            return "failed" if last_try else "retry"
        except delivery_mail.MailRefused as exc:
            _release(delivery, part, exc.code, final=True)
            return "failed"
        _mark_sent(delivery, part)
    return "sent"


def retry_countdown(retries: int) -> float:
    return float(settings.RISK["DELIVERY_RETRY_SECONDS"]) * 2**retries


# --- Reminders (Celery beat) ---------------------------------------------------------------------


def delivery_reminders(*, now: datetime | None = None) -> dict[str, int]:
    """Raise to supervisors, once each, deliveries sent but not opened by their due time and sends
    whose outcome is unknown (claimed long ago, never marked sent)."""
    now = now or timezone.now()
    unopened = ReferralDelivery.objects.filter(
        sent_at__isnull=False,
        open_due_at__lt=now,
        opened_at__isnull=True,
        cancelled_at__isnull=True,
        open_reminder_sent_at__isnull=True,
    ).select_related("referral")
    raised = {"unopened": 0, "unconfirmed": 0}
    for delivery in unopened:
        with transaction.atomic():
            if ReferralDelivery.objects.filter(pk=delivery.pk, open_reminder_sent_at__isnull=True).update(
                open_reminder_sent_at=now
            ):
                audit(delivery, "delivery_unopened")
                tell_supervisors(delivery)
                raised["unopened"] += 1
    stale = now - timedelta(minutes=float(settings.RISK["DELIVERY_CLAIM_STALE_MINUTES"]))
    lost = ReferralDelivery.objects.filter(
        Q(link_claimed_at__lt=stale, link_sent_at__isnull=True)
        | Q(code_claimed_at__lt=stale, code_sent_at__isnull=True),
        unconfirmed_at__isnull=True,
        cancelled_at__isnull=True,
        failed_at__isnull=True,
    )
    for pk in [d.pk for d in lost]:
        with transaction.atomic():
            if ReferralDelivery.objects.filter(pk=pk, unconfirmed_at__isnull=True).update(unconfirmed_at=now):
                delivery = ReferralDelivery.objects.select_related("referral").get(pk=pk)
                audit(delivery, "delivery_unconfirmed")
                tell_supervisors(delivery)
                raised["unconfirmed"] += 1
    return raised
