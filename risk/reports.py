"""The risk figures of the supervisors' reports: risk levels reached and MARAC referrals by
criterion, from the cases and referrals and the anonymous figures erased cases leave behind. The
whole report is the contact figures (chat.reports) with these among them."""

from collections import Counter
from datetime import date
from typing import Any

from django.utils import timezone

from chat import reports
from risk import outcome_figures
from risk.models import Assessment, Referral, RiskStatistic
from risk.statistics import checklist_figures


def risk_figures(start: date, end: date) -> tuple[Counter[str], Counter[str]]:
    """Risk levels reached (the highest per case among its assessments in the range) and MARAC
    referrals submitted in the range by criterion. Cases and referrals outlive the purge."""
    since, until = reports.bounds(start, end)
    order = {"standard": 0, "medium": 1, "high": 2}
    highest: dict[Any, str] = {}
    for case_id, level in Assessment.objects.filter(created_at__gte=since, created_at__lt=until).values_list(
        "case_id", "level"
    ):
        if order.get(level, 0) >= order.get(highest.get(case_id, "standard"), 0):
            highest[case_id] = level
    # Erased cases leave their figures behind, anonymously (risk.models.RiskStatistic).
    erased = RiskStatistic.objects.filter(at__gte=since, at__lt=until)
    for group, level in erased.filter(kind=RiskStatistic.Kind.ASSESSMENT).values_list("group", "level"):
        if order.get(level, 0) >= order.get(highest.get(group, "standard"), 0):
            highest[group] = level
    levels = Counter(level.capitalize() for level in highest.values())
    criteria: Counter[str] = Counter()
    for keys in (
        # MARAC referrals only: the other kinds meet no MARAC criterion of their own.
        Referral.objects.filter(kind=Referral.Kind.MARAC, submitted_at__gte=since, submitted_at__lt=until)
        .exclude(state=Referral.State.WITHDRAWN)
        .values_list("criteria", flat=True)
    ):
        criteria.update(CRITERIA_LABELS.get(key, key) for key in keys)
    for keys in erased.filter(kind=RiskStatistic.Kind.REFERRAL).values_list("criteria", flat=True):
        criteria.update(CRITERIA_LABELS.get(key, key) for key in keys)
    return levels, criteria


CRITERIA_LABELS = {
    "visible_high_risk": "Visible high risk",
    "professional_judgement": "Professional judgement",
    "potential_escalation": "Potential escalation",
    "repeat": "Repeat",
}


def risk_series(start: date, end: date) -> list[reports.Series]:
    levels, criteria = risk_figures(start, end)
    return [
        reports.Series("risk", "Risk levels reached", sorted(levels.items())),
        reports.Series("marac", "MARAC referrals by criterion", sorted(criteria.items())),
    ]


def build(start: date, end: date) -> dict[str, Any]:
    """The report the supervisors' page shows: the contact figures with the risk figures, and the
    checklist's details by version."""
    since, until = reports.bounds(start, end)
    return reports.build(start, end, more=risk_series(start, end)) | {
        "checklist": checklist_figures(since=since, until=until),
        "marac_actions": outcome_figures.action_figures(start, end, today=timezone.localdate()),
    }


def csv_rows(report: dict[str, Any]) -> list[list[Any]]:
    """The report as CSV rows: the contact and risk series, then the checklist tables."""
    out = reports.csv_rows(report)
    figures = report["checklist"]
    for table in figures["tables"]:
        for index, column in enumerate(figures["columns"]):
            key = f"checklist_{table.key}"
            out.append([key, f"{column.title}: {table.base_label}", table.base[index].csv()])
            out.extend([key, f"{column.title}: {line.label}", line.cells[index].csv()] for line in table.lines)
    if "marac_actions" in report:
        out.extend(outcome_figures.csv_rows(report["marac_actions"]))
    return out
