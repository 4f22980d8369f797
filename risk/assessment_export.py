"""Exports of an assessment, as JSON and as PDF: the checklist as answered (with the ticked
details and the professional's section), its score, band, level and criteria today, the prompts
that were met, the case's incidents and its safeguarding decisions for the children.

Every export reaches its assessment through `assessment_for_user`, which asks the same question
as the case gate (`visible_cases`) and audits the export, or the refusal, like a snapshot's.
An assessment changes while the advisor works, so an export is made fresh each time and is not
sealed: a sealed record of a chat is a transcript snapshot.
"""

import json
from datetime import datetime
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from agents import audit as audit_trail
from risk import checkpoints
from risk.assessment_detail import assessment_detail, incident_rows, safeguarding_rows
from risk.models import Assessment
from risk.selectors import evaluation, visible_cases
from risk.services import NotFound, audit

EXPORT_FORMAT = "helpline-assessment/1"
FORMATS = ("json", "pdf")


def assessment_for_user(*, user: Any, assessment_id: int, action: str) -> Assessment:
    """The one way to an assessment outside the console's API; records the access or the refusal."""
    assessment = (
        Assessment.objects.filter(pk=assessment_id, case__in=visible_cases(user)).select_related("case").first()
    )
    if assessment is None:
        known = Assessment.objects.filter(pk=assessment_id).values_list("case_id", flat=True).first()
        audit_trail.record_refusal(
            actor_id=user.pk, resource="assessment", attempt=action, requested=str(assessment_id), case_id=known
        )
        raise NotFound()
    audit(user=user, action=f"assessment.{action}", case=assessment.case, assessment=assessment.pk)
    if action.startswith("export"):
        checkpoints.checkpoint_after_commit(reason="export")
    return assessment


def export_document(assessment: Assessment, *, at: datetime | None = None) -> dict[str, Any]:
    case = assessment.case
    return {
        "format": EXPORT_FORMAT,
        "exported_at": (at or timezone.now()).isoformat(),
        "case": case.reference,
        "area": case.area,
        "assessment": assessment_detail(assessment, evaluation(assessment)),
        "incidents": incident_rows(case),
        "safeguarding": safeguarding_rows(case),
    }


def export_json(assessment: Assessment) -> bytes:
    return json.dumps(export_document(assessment), ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


def export_pdf(assessment: Assessment) -> bytes:
    # WeasyPrint costs a server process tens of MB: loaded only to render a PDF.
    from weasyprint import HTML

    now = timezone.now()
    context = {"document": export_document(assessment, at=now), "assessment": assessment, "exported_at": now}
    html = render_to_string("risk/assessment_pdf.html", context)
    rendered = HTML(string=html).write_pdf()
    assert rendered is not None
    return bytes(rendered)


def export_filename(assessment: Assessment, fmt: str) -> str:
    return f"{assessment.case.reference}-assessment-{assessment.pk}.{fmt}"
