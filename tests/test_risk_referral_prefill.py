"""The MARAC referral form drafted from a case: the escalation count of incidents reported to the
police, the risk summary from the ticked details and the professional's section, the children
section from the children's answers and the latest safeguarding decision; and a form drafted
before these sections existed still opens and saves."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from risk import referrals, services
from risk.models import Assessment, Referral
from tests import factories
from tests.factories import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def drafted(people: dict[str, Any]) -> dict[str, Any]:
    advisor = people["advisor"]
    case = factories.case_with_chat(advisor)
    assessment = factories.assessment_answered(advisor, case)
    factories.safeguarding_decided(advisor, assessment, needed=False, reason="First look", on=timezone.localdate())
    factories.safeguarding_decided(advisor, assessment, needed=True, reason="Hub told by phone")
    today = timezone.localdate()
    for days in (5, 40, 200):
        services.incident_add(
            user=advisor, case_id=case.pk, occurred_on=today - timedelta(days=days), reported_to_police=True
        )
    services.incident_add(user=advisor, case_id=case.pk, occurred_on=today - timedelta(days=7), reported_to="housing")
    services.incident_add(
        user=advisor, case_id=case.pk, occurred_on=today - timedelta(days=900), reported_to_police=True
    )
    referral = referrals.referral_draft(user=advisor, case_id=case.pk, assessment_id=assessment.pk)
    return {**people, "case": case, "assessment": assessment, "referral": referral}


def test_the_form_is_prefilled_from_the_new_fields(drafted: dict[str, Any]) -> None:
    form = drafted["referral"].form
    # Three incidents reported to the police in the window: the one to housing and the one three
    # years ago do not count.
    assert form["criteria"]["potential_escalation"] == {"met": True, "incidents": 3}
    summary = form["risk_summary"]
    assert summary["checklist_details"] == [
        {"key": "c14", "label": "Threats to kill", "ticks": ["The victim", "The children"]},
        {
            "key": "c23",
            "label": "Broke bail or orders",
            "ticks": ["Bail conditions", "Domestic abuse protection notice or order"],
        },
    ]
    professional = {p["key"]: p["text"] for p in summary["professional"]}
    assert professional["other_factors"] == "Disability, Rural isolation"
    assert professional["weapons_access"] == "Don't know"
    assert "children_risk" not in professional and "safety_priorities" not in professional
    assert summary["safety_priorities"].startswith("Keep the children at their school")
    assert form["children"] == {
        "children_in_household": "yes",
        "children_hurt": "yes",
        "children_threatened": None,  # don't know: not known on the form
        "children_at_risk": "yes",
        "safeguarding_referral_made": "yes",
        "safeguarding_referral_on": "2026-11-30",
        "safeguarding_needed": "yes",  # the latest decision
        "safeguarding_decided_on": timezone.localdate().isoformat(),
        "safeguarding_reason": "Hub told by phone",
    }


def test_the_referral_page_shows_and_keeps_the_prefill(drafted: dict[str, Any]) -> None:
    owner = signed_in(drafted["advisor"])
    url = f"/risk/referrals/{drafted['referral'].pk}/"
    page = " ".join(owner.get(url).content.decode().split())
    assert "Potential escalation: yes (3 incidents reported to police)" in page
    assert "<li>Threats to kill: The victim, The children</li>" in page
    assert "<dt>Other factors that raise or hide risk</dt><dd>Disability, Rural isolation</dd>" in page
    assert "<legend>Children: risks and safeguarding</legend>" in page
    assert 'name="children.children_hurt"' in page and 'value="Hub told by phone"' in page
    assert 'name="risk_summary.safety_priorities" value="Keep the children at their school' in page
    response = owner.post(
        url,
        {
            "action": "save",
            "children.children_threatened": "yes",
            "children.safeguarding_reason": "",
            "victim.forenames": "A.",
        },
    )
    assert response.status_code == 302
    form = Referral.objects.get(pk=drafted["referral"].pk).form
    assert form["children"]["children_threatened"] == "yes" and form["children"]["safeguarding_reason"] is None
    assert form["children"]["children_hurt"] == "yes" and form["risk_summary"]["checklist_details"]
    # Bad input in the new section: an unknown field is refused and nothing changes.
    with pytest.raises(services.RiskError, match="Unknown field"):
        referrals.referral_update(
            user=drafted["advisor"], referral_id=drafted["referral"].pk, form={"children": {"shoe_size": "5"}}
        )


def test_a_referral_drafted_before_the_new_sections_opens_and_saves(drafted: dict[str, Any]) -> None:
    referral = drafted["referral"]
    old_form = dict(referral.form)
    del old_form["children"]
    old_form["risk_summary"] = {
        k: v
        for k, v in old_form["risk_summary"].items()
        if k not in ("checklist_details", "professional", "safety_priorities")
    }
    Referral.objects.filter(pk=referral.pk).update(form=old_form)
    owner = signed_in(drafted["advisor"])
    url = f"/risk/referrals/{referral.pk}/"
    page = owner.get(url).content.decode()
    assert page.count("<legend>") >= 5 and "Children: risks and safeguarding" not in page
    assert owner.post(url, {"action": "save", "victim.forenames": "B."}).status_code == 302
    form = Referral.objects.get(pk=referral.pk).form
    assert form["victim"]["forenames"] == "B." and "children" not in form


def test_a_2026_1_assessment_drafts_a_referral(people: dict[str, Any]) -> None:
    advisor = people["advisor"]
    case = factories.case_with_chat(advisor)
    answers = {f"c{n:02d}": {"value": "yes", "source": "", "comment": ""} for n in range(1, 15)}
    answers["k1"] = {"value": "no", "source": "", "comment": ""}
    old = Assessment.objects.create(case=case, version="2026.1", answers=answers, created_by=advisor)
    referral = referrals.referral_draft(user=advisor, case_id=case.pk, assessment_id=old.pk)
    assert referral.form["criteria"]["visible_high_risk"] == {"met": True, "score": 14}
    assert referral.form["risk_summary"]["checklist_details"] == []
    assert referral.form["risk_summary"]["professional"] == []
    assert referral.form["children"]["children_in_household"] == "no"
    assert referral.form["children"]["safeguarding_needed"] is None
    assert signed_in(advisor).get(f"/risk/referrals/{referral.pk}/").status_code == 200
