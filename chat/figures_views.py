"""The published figures (page, printable page, CSV) for supervisors, and the small JSON API the
console's end-of-chat record uses."""

import csv
import json
from datetime import date
from typing import Any
from uuid import UUID

from django import forms
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from pydantic import ValidationError

from agents.views import staff_required
from chat import figures
from chat.contact_record import ContactRecordBody, RecordError, contact_record_save, record_options
from chat.retention import statistics_roll_up
from chat.staff_views import ReportRangeForm


class FiguresForm(ReportRangeForm):
    queue = forms.ChoiceField(label="Queue", required=False)
    channel = forms.ChoiceField(label="Channel", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        everyone = [("", "All")]
        queue, channel = self.fields["queue"], self.fields["channel"]
        assert isinstance(queue, forms.ChoiceField) and isinstance(channel, forms.ChoiceField)
        queue.choices = everyone + [(k or "-", v) for k, v in figures.queue_choices()]
        channel.choices = everyone + figures.channel_choices()


def _report(request: HttpRequest) -> tuple[FiguresForm, dict[str, Any] | None]:
    today = timezone.localdate()
    form = FiguresForm(request.GET or {"start": date(today.year, 1, 1), "end": today})
    if not form.is_valid():
        return form, None
    statistics_roll_up()
    data = form.cleaned_data
    # "" is every queue; "-" the chats that had none (they ended before triage chose one).
    queue = None if data["queue"] == "" else "" if data["queue"] == "-" else data["queue"]
    span = figures.Period(data["start"], data["end"])
    report = figures.build(span, queue=queue, channel=data["channel"] or None)
    report["query"] = f"start={span.start}&end={span.end}&queue={data['queue']}&channel={data['channel']}"
    report["summary"] = figures.summary_lines(report)
    return form, report


@staff_required(supervisor=True)
@require_GET
def figures_page(request: HttpRequest) -> HttpResponse:
    form, report = _report(request)
    context = {"profile": request.staff, "form": form, "report": report}  # type: ignore[attr-defined]
    if report is None:
        return render(request, "console/figures.html", context, status=400)
    if request.GET.get("format") == "csv":
        span = report["period"]
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="figures-{span.start}-{span.end}.csv"'
        csv.writer(response).writerows(figures.csv_rows(report))
        return response
    context["presets"] = [(label, f"start={p.start}&end={p.end}") for label, p in figures.presets(timezone.localdate())]
    return render(request, "console/figures.html", context)


@staff_required(supervisor=True)
@require_GET
def figures_print(request: HttpRequest) -> HttpResponse:
    form, report = _report(request)
    if report is None:
        context = {"profile": request.staff, "form": form, "report": None}  # type: ignore[attr-defined]
        return render(request, "console/figures.html", context, status=400)
    return render(request, "console/figures_print.html", {"report": report, "made": timezone.localdate()})


def _error(code: str, message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


@staff_required()
@require_GET
def record_options_api(request: HttpRequest) -> HttpResponse:
    return JsonResponse(record_options())


@staff_required()
@require_POST
def contact_record_api(request: HttpRequest, conversation_id: UUID) -> HttpResponse:
    try:
        body = ContactRecordBody.model_validate(json.loads(request.body or b"{}"))
    except (ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            return _error("invalid", f"{where}: {first['msg']}")
        return _error("bad_json", "The body is not JSON.")
    try:
        contact_record_save(user_id=int(request.user.pk or 0), conversation_id=conversation_id, record=body)
    except RecordError as refused:
        return _error(refused.code, refused.message, 404 if refused.code == "not_found" else 400)
    return JsonResponse({"saved": True})
