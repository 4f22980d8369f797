"""Delivering a reviewed referral to its agency, and the agency opening it.

What it guarantees:
- Only a supervisor asks for a delivery, of a referral that has been reviewed and accepted and
  has an active agency. A new delivery of the same referral cancels the earlier ones' links.
- The link (a 256-bit token) and the one-time code are derived from the server's key and the
  delivery's random nonce, and never stored; the row keeps their hashes. A retry therefore sends
  exactly the same emails, and a stolen database opens no referral.
- Never sent twice: each of the two emails is claimed in a committed transaction before it is
  handed to the mail server and marked sent after. A mail server that is down or answers 4xx
  accepted nothing, so the claim is released and Celery tries again later; a 5xx answer fails
  the delivery for good. A claim never marked sent (the worker died between the server accepting
  and the mark) is not sent again: `delivery_reminders` reports it to supervisors as unconfirmed,
  and they decide whether to send again (which makes a new link and cancels this one).
- The link opens the referral once, before it expires, with the right code; wrong codes are
  counted and close the link at DELIVERY_CODE_ATTEMPTS. Every send, failure, opening and refusal
  is in the case's audit trail; staff see the receipt (when, and by which agency) on the referral.
"""

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agents import audit as audit_trail
from risk import tasks
from risk.delivery_core import audit, code_hash, delivery_code, delivery_token, tell_supervisors, token_hash
from risk.delivery_models import ReferralDelivery
from risk.delivery_selectors import NOT_DELIVERABLE
from risk.models import Referral
from risk.referrals import referral_for_user
from risk.selectors import is_supervisor
from risk.services import RiskError

# --- Asking for a delivery ----------------------------------------------------------------------


def delivery_request(*, user: Any, referral_id: UUID | str, seen: int | None = None) -> ReferralDelivery:
    """A supervisor sends the referral to its agency. `seen` is how many deliveries the page
    showed: a second click on the same page (the count moved on) sends nothing more."""
    referral = referral_for_user(user=user, referral_id=referral_id, action="deliver")
    if not is_supervisor(user):
        audit_trail.record_refusal(
            actor_id=user.pk,
            resource="referral",
            attempt="deliver",
            reason="forbidden",
            case_id=referral.case_id,
            referral_id=referral.pk,
        )
        raise RiskError("forbidden", "Only a supervisor can deliver a referral.")
    if referral.state in NOT_DELIVERABLE:
        raise RiskError("invalid_state", f"A {referral.get_state_display().lower()} referral is not delivered.")
    agency = referral.agency
    if agency is None or not agency.active:
        raise RiskError("no_agency", "There is no active agency for this referral's area: add one in the directory.")
    if not settings.RISK["DELIVERY_BASE_URL"]:
        raise RiskError("not_configured", "Delivery needs the product's public address (RISK_DELIVERY_BASE_URL).")
    now = timezone.now()
    with transaction.atomic():
        referral = Referral.objects.select_for_update().select_related("case").get(pk=referral.pk)
        if seen is not None and referral.deliveries.count() != seen:
            raise RiskError("stale", "This referral was delivered meanwhile: see its deliveries below.")
        for earlier in referral.deliveries.filter(opened_at__isnull=True, cancelled_at__isnull=True):
            earlier.cancelled_at = now
            earlier.save(update_fields=["cancelled_at"])
            audit(earlier, "delivery_cancelled", actor_id=user.pk)
        delivery = ReferralDelivery(referral=referral, agency=agency, address=agency.email, requested_by_id=user.pk)
        delivery.nonce = secrets.token_urlsafe(32)
        delivery.token_hash = token_hash(delivery_token(delivery))
        delivery.code_hash = code_hash(delivery.pk, delivery_code(delivery))
        delivery.save()
        audit(delivery, "delivery_requested", actor_id=user.pk)
        pk = str(delivery.pk)
        transaction.on_commit(lambda: tasks.referral_delivery_send.delay(pk), robust=True)
    return delivery


# --- The agency at the link ------------------------------------------------------------------------


@dataclass(frozen=True)
class Opening:
    """What the link page shows: `state` is "ask" (the code form), "opened" (the referral, this
    once), or why it opens nothing: "unknown", "expired", "used", "locked", "not_sent"."""

    state: str
    delivery: ReferralDelivery | None = None
    wrong_code: bool = False
    attempts_left: int = 0


def _find(token: str) -> ReferralDelivery | None:
    if not isinstance(token, str) or not 20 <= len(token) <= 64:
        return None
    found = ReferralDelivery.objects.select_related("referral__case", "agency")
    return found.filter(token_hash=token_hash(token)).first()


def _closed(delivery: ReferralDelivery, now: datetime) -> str | None:
    if delivery.opened_at or delivery.cancelled_at:
        return "used"
    if delivery.locked_at:
        return "locked"
    if not delivery.sent_at or delivery.failed_at:
        return "not_sent"
    if delivery.expires_at is None or delivery.expires_at <= now:
        return "expired"
    return None


def _attempts_left(delivery: ReferralDelivery) -> int:
    return max(0, int(settings.RISK["DELIVERY_CODE_ATTEMPTS"]) - delivery.wrong_codes)


def delivery_visit(*, token: str) -> Opening:
    """Someone followed a link: what to show them (the code form, or why not). Refusals are audited."""
    delivery = _find(token)
    if delivery is None:
        return Opening("unknown")
    closed = _closed(delivery, timezone.now())
    if closed:
        audit(delivery, "delivery_refused", refusal=closed)
        return Opening(closed, delivery)
    return Opening("ask", delivery, attempts_left=_attempts_left(delivery))


def delivery_open(*, token: str, code: str) -> Opening:
    """The code was entered: open the referral (once) or count a wrong code."""
    if _find(token) is None:
        return Opening("unknown")
    typed = "".join(ch for ch in str(code)[:40] if ch.isdigit())
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            ReferralDelivery.objects.select_for_update()
            .select_related("referral__case", "agency")
            .get(token_hash=token_hash(token))
        )
        closed = _closed(delivery, now)
        if closed:
            audit(delivery, "delivery_refused", refusal=closed)
            return Opening(closed, delivery)
        if not hmac.compare_digest(code_hash(delivery.pk, typed), delivery.code_hash):
            delivery.wrong_codes += 1
            fields = ["wrong_codes"]
            if _attempts_left(delivery) == 0:
                delivery.locked_at = now
                fields.append("locked_at")
            delivery.save(update_fields=fields)
            audit(delivery, "delivery_wrong_code", refusal="locked" if delivery.locked_at else "wrong_code")
            if delivery.locked_at:
                tell_supervisors(delivery)
                return Opening("locked", delivery, wrong_code=True)
            return Opening("ask", delivery, wrong_code=True, attempts_left=_attempts_left(delivery))
        delivery.opened_at = now
        delivery.save(update_fields=["opened_at"])
        audit(delivery, "delivery_opened")
    return Opening("opened", delivery)
