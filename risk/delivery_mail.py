"""The two emails of a delivery and what a mail server's answer means for it.

Neither email names the victim, the perpetrator or anybody else: the link email says which
helpline refers and which kind of referral waits; the code comes separately, so that one
intercepted message opens nothing. Both carry the referral's reference so the agency can pair them.
"""

import smtplib
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string
from django.utils import timezone

from risk.delivery_models import ReferralDelivery


class MailRefused(Exception):
    """The mail server refused the message for good (a 5xx answer): trying again will not help."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class MailUnreachable(Exception):
    """The mail server could not be reached or asked us to come back later: nothing was accepted."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%-d %B %Y %H:%M %Z") if moment else ""


def link_message(delivery: ReferralDelivery, *, link: str) -> EmailMessage:
    referral = delivery.referral
    body = render_to_string(
        "risk/email/delivery_link.txt",
        {
            "reference": referral.reference,
            "kind": referral.get_kind_display(),
            "sender": settings.RISK.get("AGENCY", "Helpline"),
            "link": link,
            "expires": _when(delivery.expires_at),
        },
    )
    return EmailMessage(
        subject=f"Referral {referral.reference} is waiting for you",
        body=body,
        from_email=settings.RISK["DELIVERY_FROM"],
        to=[delivery.address],
    )


def code_message(delivery: ReferralDelivery, *, code: str) -> EmailMessage:
    referral = delivery.referral
    body = render_to_string(
        "risk/email/delivery_code.txt",
        {"reference": referral.reference, "code": f"{code[:4]} {code[4:]}"},
    )
    return EmailMessage(
        subject=f"The code for referral {referral.reference}",
        body=body,
        from_email=settings.RISK["DELIVERY_FROM"],
        to=[delivery.address],
    )


def send(message: EmailMessage) -> None:
    """Hand one message to the mail server through Django's email framework; raises MailRefused
    or MailUnreachable when it is not accepted."""
    try:
        sent = get_connection(fail_silently=False).send_messages([message])
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        _raise_for(codes[0] if codes else 550)
    except smtplib.SMTPResponseException as exc:
        _raise_for(exc.smtp_code)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailUnreachable("unreachable") from exc
    if sent != 1:
        raise MailUnreachable("not_accepted")


def _raise_for(smtp_code: int) -> None:
    if 400 <= smtp_code < 500:
        raise MailUnreachable(f"smtp_{smtp_code}")
    raise MailRefused(f"smtp_{smtp_code}")
