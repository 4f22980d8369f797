"""Reads for delivery: a referral's deliveries as its page lists them, and the referral as the
agency sees it at the link (read-only, with what is attached to it). Nothing here writes."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from risk import referral_form
from risk.delivery_models import ReferralDelivery
from risk.models import Referral, TranscriptSnapshot
from risk.selectors import is_supervisor

# A referral is delivered once it has been reviewed and accepted, until it is closed or withdrawn.
NOT_DELIVERABLE = (
    Referral.State.DRAFT,
    Referral.State.SUBMITTED,
    Referral.State.UNDER_REVIEW,
    Referral.State.RETURNED,
    Referral.State.CLOSED,
    Referral.State.WITHDRAWN,
)


@dataclass(frozen=True)
class DeliveryRow:
    delivery: ReferralDelivery
    status: str
    receipt: bool
    needs_attention: bool


def delivery_status(delivery: ReferralDelivery, *, now: datetime) -> tuple[str, bool]:
    """Words for where a delivery stands, and whether supervisors need to act on it."""
    if delivery.opened_at:
        return "Opened (receipt)", False
    if delivery.cancelled_at:
        return "Replaced by a later delivery", False
    if delivery.locked_at:
        return "Closed after too many wrong codes", True
    if delivery.failed_at:
        return f"Failed ({delivery.last_error or 'refused'})", True
    if delivery.unconfirmed_at:
        return "Not known whether it was sent: check with the agency or send again", True
    if delivery.sent_at:
        if delivery.expires_at and delivery.expires_at <= now:
            return "Expired unopened", True
        if delivery.open_due_at and delivery.open_due_at <= now:
            return "Sent, not opened by its due time", True
        return "Sent, not opened yet", False
    waiting = f", last error {delivery.last_error}" if delivery.last_error else ""
    return f"Sending (attempt {delivery.attempts}{waiting})", False


def referral_deliveries(*, user: Any, referral: Referral) -> dict[str, Any]:
    """The referral page's delivery block: each delivery with its status and receipt, and
    whether this user may deliver it now (a supervisor, once reviewed, with an active agency)."""
    now = timezone.now()
    rows = []
    for delivery in referral.deliveries.select_related("agency", "requested_by__staff"):
        status, attention = delivery_status(delivery, now=now)
        rows.append(DeliveryRow(delivery, status, bool(delivery.opened_at), attention))
    agency = referral.agency
    return {
        "deliveries": rows,
        "delivery_agency": agency if agency is not None and agency.active else None,
        "may_deliver": is_supervisor(user) and referral.state not in NOT_DELIVERABLE,
    }


def deliveries_needing_attention(*, now: datetime | None = None) -> list[DeliveryRow]:
    """For the supervisors' queue: deliveries not opened and not replaced (so at most one per
    referral) that failed, were closed by wrong codes, are unconfirmed, expired unopened or are
    past their due time unopened."""
    now = now or timezone.now()
    rows = []
    candidates = ReferralDelivery.objects.filter(opened_at__isnull=True, cancelled_at__isnull=True).select_related(
        "referral", "agency"
    )
    for delivery in candidates.order_by("requested_at")[:200]:
        status, attention = delivery_status(delivery, now=now)
        if attention:
            rows.append(DeliveryRow(delivery, status, False, True))
    return rows


def attached_snapshot(referral: Referral) -> TranscriptSnapshot | None:
    """The sealed transcript attached to the referral (`Referral.snapshot`: a police report's, or
    one the advisor chose), only ever one of its own case's."""
    snapshot = referral.snapshot
    return snapshot if snapshot is not None and snapshot.case_id == referral.case_id else None


def referral_for_agency(referral: Referral) -> dict[str, Any]:
    """The referral as the agency reads it: the form's filled sections, the people named in it,
    the criteria and excerpts, and the attached transcript's lines."""
    layout = referral_form.layout(referral)
    people = [
        (title, [f for f in fields if f["value"]])
        for _, entries in layout["people"]
        for title, fields in entries
        if any(f["value"] for f in fields)
    ]
    snapshot = attached_snapshot(referral)
    return {
        "sections": layout["sections"],
        "people": people,
        "criteria": layout["criteria"],
        "excerpts": layout["excerpts"],
        "snapshot": snapshot,
        "transcript": snapshot.content.get("entries", []) if snapshot else [],
    }
