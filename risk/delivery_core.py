"""What the parts of a referral's delivery share: the link and code derived from the server's key
(never stored), the audit of a delivery's events and the notice that raises one to supervisors.
risk.delivery asks for deliveries and opens them; risk.delivery_send sends them."""

import base64
import hashlib
from typing import Any
from uuid import UUID

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import salted_hmac

from agents import audit as audit_trail
from chat.engine import events
from risk.delivery_models import ReferralDelivery

CODE_DIGITS = 8


# --- Credentials ------------------------------------------------------------------------------


def _derived(nonce: str, purpose: str) -> bytes:
    return salted_hmac(f"risk.delivery.{purpose}", nonce, algorithm="sha256").digest()


def delivery_token(delivery: ReferralDelivery) -> str:
    return base64.urlsafe_b64encode(_derived(delivery.nonce, "token")).rstrip(b"=").decode()


def delivery_code(delivery: ReferralDelivery) -> str:
    return str(int.from_bytes(_derived(delivery.nonce, "code"), "big") % 10**CODE_DIGITS).zfill(CODE_DIGITS)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def code_hash(delivery_id: UUID | str, code: str) -> str:
    return salted_hmac("risk.delivery.code-check", f"{delivery_id}:{code}", algorithm="sha256").hexdigest()


def delivery_link(delivery: ReferralDelivery) -> str:
    base = str(settings.RISK["DELIVERY_BASE_URL"]).rstrip("/")
    return base + reverse("risk_delivery_open", args=[delivery_token(delivery)])


def audit(delivery: ReferralDelivery, action: str, *, actor_id: int | None = None, **detail: Any) -> None:
    """Events of a delivery are the case's; those with nobody signed in (the mail server's
    answer, the agency at the link) name the supervisor who asked for the delivery."""
    audit_trail.record(
        actor_id=actor_id or delivery.requested_by_id,
        action=f"referral.{action}",
        case_id=delivery.referral.case_id,
        referral_id=delivery.referral_id,
        delivery=str(delivery.pk),
        agency=delivery.agency_id,
        **detail,
    )


def tell_supervisors(delivery: ReferralDelivery) -> None:
    referral = delivery.referral
    notice = {
        "referral_id": str(referral.pk),
        "reference": referral.reference,
        "state": referral.state,
        "urgent": referral.urgent,
        "overdue": True,
    }
    events.emit_on_commit([(events.SUPERVISORS_GROUP, {"type": "chat.referral", "referral": notice})])
