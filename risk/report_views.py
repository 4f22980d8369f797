"""The contact reports page: the contact figures (chat.reports) and the risk figures
(risk.reports) of a date range, for supervisors, as a page or a CSV file."""

import csv
from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from agents.views import staff_required
from chat.retention import statistics_roll_up
from chat.staff_views import ReportRangeForm
from risk import reports


@staff_required(supervisor=True)
def reports_page(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    initial = {"start": today - timedelta(days=6), "end": today}
    form = ReportRangeForm(request.GET or initial)
    if not form.is_valid():
        return render(request, "console/reports.html", {"profile": request.staff, "form": form}, status=400)  # type: ignore[attr-defined]
    statistics_roll_up()
    report = reports.build(form.cleaned_data["start"], form.cleaned_data["end"])
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="contacts-{report["start"]}-{report["end"]}.csv"'
        csv.writer(response).writerows(reports.csv_rows(report))
        return response
    query = f"start={report['start']}&end={report['end']}"
    return render(
        request,
        "console/reports.html",
        {"profile": request.staff, "form": form, "report": report, "csv_query": query},  # type: ignore[attr-defined]
    )
