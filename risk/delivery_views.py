"""The page an agency reaches from a delivery's link: no staff sign-in, the one-time code, then
the referral, once. Everything it decides is in risk.delivery; the page only shows the outcome."""

import base64

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from risk import delivery, delivery_selectors, transcript_pdf
from risk.models import Referral


def _signed_transcript(referral: Referral) -> dict[str, str]:
    """The attached transcript's signed PDF, carried in the page itself: the link opens once, so
    a second request for the file would be refused."""
    snapshot = delivery_selectors.attached_snapshot(referral)
    if snapshot is None:
        return {}
    pdf = transcript_pdf.snapshot_pdf(snapshot_id=snapshot.pk)
    return {
        "transcript_pdf": base64.b64encode(pdf).decode(),
        "transcript_pdf_name": f"{referral.reference}-transcript-{snapshot.sha256[:12]}.pdf",
    }


STATUS = {"ask": 200, "opened": 200, "unknown": 404, "expired": 410, "used": 410, "locked": 410, "not_sent": 410}


@never_cache
@require_http_methods(["GET", "POST"])
def delivery_page(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST":
        opening = delivery.delivery_open(token=token, code=request.POST.get("code", ""))
    else:
        opening = delivery.delivery_visit(token=token)
    context: dict[str, object] = {"opening": opening}
    if opening.state == "opened" and opening.delivery is not None:
        context["referral"] = opening.delivery.referral
        context.update(delivery_selectors.referral_for_agency(opening.delivery.referral))
        context.update(_signed_transcript(opening.delivery.referral))
    status = 400 if opening.wrong_code and opening.state == "ask" else STATUS[opening.state]
    response = render(request, "risk/delivery_open.html", context, status=status)
    # The link is the key: never sent on to another site (the site-wide Referrer-Policy is
    # same-origin; "no-referrer" would make browsers send "Origin: null" and fail the CSRF
    # check of the code form), never indexed.
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
