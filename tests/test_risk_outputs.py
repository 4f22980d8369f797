"""Where an assessment is shown outside the console's panel: the case page and the assessment's
JSON and PDF exports carry the ticked details, the professional's section, the prompts that were
met, the band as local practice, the version's audience, the safeguarding decisions and the
incidents reported to police; the exports go through the case gate and the audit trail; an
assessment of 2026.1 (none of that recorded) still shows everywhere."""

import json
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from agents.audit_models import AuditEvent
from risk import services
from risk.checklist import definition
from risk.models import Assessment
from tests import factories
from tests.factories import chat_with, signed_in

pytestmark = pytest.mark.django_db

YOUNG = "YP-2026.1"
REASON = "Both children named in the threats; the hub to be told today"


@pytest.fixture
def world(people: dict[str, Any]) -> dict[str, Any]:
    """A case with a young people's assessment answered in full, a safeguarding decision and two
    incidents, one of them reported to the police."""
    advisor = people["advisor"]
    case = factories.case_with_chat(advisor, area="Cardiff")
    assessment = factories.assessment_answered(advisor, case, version=YOUNG)
    factories.safeguarding_decided(advisor, assessment, reason=REASON)
    today = timezone.localdate()
    services.incident_add(
        user=advisor,
        case_id=case.pk,
        occurred_on=today - timedelta(days=3),
        reported_to="999 call",
        reported_to_police=True,
    )
    services.incident_add(user=advisor, case_id=case.pk, occurred_on=today - timedelta(days=9), reported_to="GP")
    return {**people, "case": case, "assessment": assessment}


def prompt_text(version: str, key: str) -> str:
    return next(p.text for p in definition(version).prompts if p.key == key)


def flat(text: str) -> str:
    return " ".join(text.split())


def pdf_text(pdf: bytes, where: Path, *, screenshot: str = "") -> str:
    """The PDF's text as poppler reads it, flattened; with `screenshot`, its pages are kept as PNGs
    among the test artifacts, to look at."""
    path = where / "assessment.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), str(where / "assessment.txt")], check=True)
    if screenshot:
        artifacts = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
        artifacts.mkdir(parents=True, exist_ok=True)
        subprocess.run(["pdftoppm", "-png", "-r", "70", str(path), str(artifacts / screenshot)], check=True)
    return flat((where / "assessment.txt").read_text(encoding="utf-8"))


def test_the_case_page_shows_everything_recorded(world: dict[str, Any]) -> None:
    page = signed_in(world["advisor"]).get(f"/risk/cases/{world['case'].pk}/")
    assert page.status_code == 200
    html = flat(page.content.decode())
    assert "YP-2026.1 · Young people (13 to 17)" in html
    assert "Medium (local practice)" in html
    assert "MARAC is for victims aged 16 and over" in html
    # Ticks beside their item.
    assert 'Threats to kill</th><td>Yes: <span class="ticks">The young person, Children</span>' in html
    assert '<span class="ticks">Bail conditions, Domestic abuse protection notice or order</span>' in html
    assert "Source: sister · believed it" in html
    # The professional's section, by label, its values in words.
    assert "Other factors that raise or hide risk</dt><dd>Disability, Rural isolation</dd>" in html
    assert "Don&#x27;t know" in html and "Keep the children at their school" in html
    # The prompts that were met.
    for key in ("threats_to_kill", "stalking"):
        assert flat(prompt_text(YOUNG, key)).replace("'", "&#x27;") in html
    assert flat(prompt_text(YOUNG, "strangulation")).replace("'", "&#x27;") not in html
    # The safeguarding decision and the incidents.
    assert "Safeguarding referral needed: " + REASON in html
    assert "reported to police</strong> · 999 call" in html
    assert "· GP" in html and "reported to police</strong> · GP" not in html
    # Both exports are offered.
    assessment = world["assessment"].pk
    assert (
        f'href="/risk/assessments/{assessment}.pdf"' in html and f'href="/risk/assessments/{assessment}.json"' in html
    )


def test_the_json_export_carries_the_new_fields(world: dict[str, Any]) -> None:
    owner = signed_in(world["advisor"])
    response = owner.get(f"/risk/assessments/{world['assessment'].pk}.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert f'filename="{world["case"].reference}-assessment-' in response["Content-Disposition"]
    document = json.loads(response.content)
    assert document["format"] == "helpline-assessment/1" and document["case"] == world["case"].reference
    a = document["assessment"]
    assert (a["version"], a["audience"]["key"], a["marac_applies"]) == (YOUNG, "young_people", False)
    assert (a["score"], a["band"], a["band_label"]) == (12, "medium", "Medium (local practice)")
    assert [p["key"] for p in a["prompts"]] == ["threats_to_kill", "stalking"]
    items = {item["key"]: item for block in a["blocks"] for item in block["items"]}
    assert items["c14"]["ticks"] == [
        {"key": "victim", "label": "The young person"},
        {"key": "children", "label": "Children"},
    ]
    assert [t["key"] for t in items["c23"]["ticks"]] == ["bail", "dapn_dapo"]
    assert items["c15"]["ticks"] == [] and items["c16"]["answer_label"] == "Not asked"
    assert items["k2"]["answer"] == "yes" and a["children_at_risk"] is True
    professional = {f["key"]: f for f in a["professional"]}
    assert professional["other_factors"]["value"] == ["disability", "rural_isolation"]
    assert professional["other_factors"]["text"] == "Disability, Rural isolation"
    assert professional["children_referral_on"]["value"] == "2026-11-30"
    assert professional["weapons_access"]["text"] == "Don't know"
    assert [(d["needed"], d["reason"]) for d in document["safeguarding"]] == [(True, REASON)]
    assert [i["reported_to_police"] for i in document["incidents"]] == [False, True]
    assert AuditEvent.objects.filter(
        action="assessment.export_json", actor=world["advisor"], detail__assessment=world["assessment"].pk
    ).exists()


def test_the_pdf_export_carries_the_new_fields(world: dict[str, Any], tmp_path: Path) -> None:
    response = signed_in(world["advisor"]).get(f"/risk/assessments/{world['assessment'].pk}.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content, tmp_path, screenshot="assessment-pdf")
    assert "Risk assessment" in text and world["case"].reference in text
    assert "YP-2026.1 · Young people (13 to 17)" in text
    assert "Medium (local practice)" in text and "MARAC is for victims aged 16 and over" in text
    assert "The young person, Children" in text and "Bail conditions, Domestic abuse protection notice or order" in text
    assert "Disability, Rural isolation" in text and "Keep the children at their school" in text
    assert flat(prompt_text(YOUNG, "threats_to_kill"))[:60] in text
    assert REASON in text
    assert "Reported to police" in text and "Not reported to police" in text
    assert AuditEvent.objects.filter(action="assessment.export_pdf", actor=world["advisor"]).exists()


def test_the_exports_go_through_the_case_gate(world: dict[str, Any]) -> None:
    assessment = world["assessment"].pk
    intruder = signed_in(world["other"])
    before = AuditEvent.objects.count()
    for fmt in ("json", "pdf"):
        response = intruder.get(f"/risk/assessments/{assessment}.{fmt}")
        assert response.status_code == 404 and world["case"].reference.encode() not in response.content
    refusals = AuditEvent.objects.filter(pk__gt=before, actor=world["other"])
    assert sorted(refusals.values_list("action", "detail__attempt")) == [
        ("assessment.refused", "export_json"),
        ("assessment.refused", "export_pdf"),
    ]
    assert refusals.filter(case_id=world["case"].pk).count() == 2
    # Signed out: to the sign-in page, nothing read.
    anonymous = Client().get(f"/risk/assessments/{assessment}.json")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    # Bad ids and formats: not found, for the owner too.
    owner = signed_in(world["advisor"])
    missing = max(Assessment.objects.values_list("pk", flat=True)) + 1000
    for url in (
        f"/risk/assessments/{missing}.json",
        f"/risk/assessments/{assessment}.docx",
        f"/risk/assessments/{assessment}.",
        "/risk/assessments/abc.json",
        "/risk/assessments/-1.json",
        f"/risk/assessments/{10**30}.pdf",
    ):
        assert owner.get(url).status_code == 404, url
    assert AuditEvent.objects.filter(action="assessment.refused", detail__requested=str(missing)).exists()
    # A supervisor, and an advisor the case is shared with, reach it.
    assert signed_in(world["supervisor"]).get(f"/risk/assessments/{assessment}.json").status_code == 200
    services.case_share(user=world["advisor"], case_id=world["case"].pk, with_user_id=world["other"].pk)
    assert intruder.get(f"/risk/assessments/{assessment}.json").status_code == 200


def test_an_assessment_of_2026_1_still_shows_everywhere(people: dict[str, Any], tmp_path: Path) -> None:
    """Answered before the versions had ticks, a professional's section or bands of their own."""
    advisor = people["advisor"]
    conversation = chat_with(advisor)
    case = services.case_open(user=advisor, conversation_id=conversation.pk)
    answers = {f"c{n:02d}": {"value": "yes", "source": "", "comment": ""} for n in range(1, 12)}
    answers["k2"] = {"value": "no", "source": "", "comment": ""}
    old = Assessment.objects.create(
        case=case, conversation=conversation, version="2026.1", answers=answers, created_by=advisor
    )
    owner = signed_in(advisor)
    html = flat(owner.get(f"/risk/cases/{case.pk}/").content.decode())
    assert "2026.1 · Adults (16 and over)" in html and "Medium (local practice)" in html
    assert "The professional&#x27;s section" not in html and "MARAC is for victims" not in html
    document = json.loads(owner.get(f"/risk/assessments/{old.pk}.json").content)
    a = document["assessment"]
    assert (a["version"], a["score"], a["professional"]) == ("2026.1", 11, [])
    assert all(item["ticks"] == [] for block in a["blocks"] for item in block["items"])
    assert a["children_at_risk"] is False and document["safeguarding"] == []
    pdf = owner.get(f"/risk/assessments/{old.pk}.pdf")
    text = pdf_text(pdf.content, tmp_path)
    assert "2026.1 · Adults (16 and over)" in text and "Isolated" in text


def test_the_case_page_records_police_incidents_and_safeguarding_decisions(world: dict[str, Any]) -> None:
    owner = signed_in(world["advisor"])
    url = f"/risk/cases/{world['case'].pk}/"
    today = timezone.localdate().isoformat()
    response = owner.post(
        url, {"action": "incident", "occurred_on": today, "reported_to": "", "reported_to_police": "on"}
    )
    assert response.status_code == 302
    assert world["case"].incidents.filter(reported_to_police=True).count() == 2
    decision = {"action": "safeguarding", "assessment_id": world["assessment"].pk, "decided_on": today}
    assert owner.post(url, {**decision, "needed": "no", "reason": ""}).status_code == 302
    latest = world["case"].safeguarding_decisions.order_by("-pk").first()
    assert latest is not None and (latest.needed, latest.assessment_id) == (False, world["assessment"].pk)
    # Bad input: a clear error, and nothing recorded.
    count = world["case"].safeguarding_decisions.count()
    future = (timezone.localdate() + timedelta(days=1)).isoformat()
    for bad, message in (
        ({"needed": ""}, "Say whether a safeguarding referral is needed."),
        ({"needed": "yes", "reason": " "}, "say why a safeguarding referral is needed"),
        ({"needed": "no", "decided_on": future}, "cannot be in the future"),
        ({"needed": "no", "decided_on": "next week"}, "Give the date as YYYY-MM-DD."),
        ({"needed": "no", "assessment_id": "999999"}, "no such assessment on this case"),
    ):
        response = owner.post(url, {**decision, **bad})
        assert response.status_code == 400 and message in response.content.decode(), bad
    assert world["case"].safeguarding_decisions.count() == count
    # Another advisor cannot record one.
    assert signed_in(world["other"]).post(url, {**decision, "needed": "no"}).status_code == 404
    assert world["case"].safeguarding_decisions.count() == count
