"""Staff pages beside the consoles: a staff member's own status, and the date range the reports
pages ask for (the contact reports themselves are risk.report_views).

Status (on shift, away, off shift), from any staff page: the live consoles set it over their
socket; the other staff pages (reports, referrals) have no socket, and their header's Status
menu is this form. Either way the value shown is the one the server holds, and a change goes
through the same service."""

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from agents.models import StaffProfile
from agents.views import staff_required
from chat.services.kernel import staff_actor
from chat.services.notices import staff_state
from chat.services.staff import availability_set


class StatusForm(forms.Form):
    availability = forms.ChoiceField(choices=StaffProfile.Availability.choices)
    next = forms.CharField(required=False, max_length=500)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@staff_required()
@require_http_methods(["GET", "POST"])
def staff_status(request: HttpRequest) -> HttpResponse:
    """GET: the status as the server holds it (JSON). POST: set it, from the form or a script."""
    profile: StaffProfile = request.staff  # type: ignore[attr-defined]
    if request.method == "GET":
        return JsonResponse(staff_state(user_id=profile.user_id))
    form = StatusForm(request.POST)
    if not form.is_valid():
        errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
        if _wants_json(request):
            return JsonResponse({"error": "invalid", "fields": errors}, status=400)
        return HttpResponse("Choose on shift, away or off shift.", status=400, content_type="text/plain")
    state = availability_set(actor=staff_actor(user_id=profile.user_id), availability=form.cleaned_data["availability"])
    if _wants_json(request):
        return JsonResponse(state)
    back = form.cleaned_data["next"]
    safe = url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    if back and safe:
        return redirect(back)
    return redirect("advisor_console")


class ReportRangeForm(forms.Form):
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end"):
            if data["start"] > data["end"]:
                raise forms.ValidationError("The start date is after the end date.")
            if (data["end"] - data["start"]).days > 366:
                raise forms.ValidationError("Choose at most a year.")
        return data
