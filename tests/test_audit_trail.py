"""The audit trail: it outlives the cases it names, names no content, and shows tampering."""

from typing import Any

import pytest

from risk import services
from risk.models import AuditEvent, CaseRecord
from tests import factories
from tests.test_risk_access import signed_in
from tests.test_risk_cases import chat_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def people() -> dict[str, Any]:
    factories.queues()
    return {"advisor": factories.staff(), "other": factories.staff(), "supervisor": factories.staff(role="supervisor")}


def test_erasing_a_case_leaves_its_events_as_tombstones(people: dict[str, Any]) -> None:
    advisor = people["advisor"]
    case = services.case_open(user=advisor, conversation_id=chat_with(advisor).pk)
    services.case_note_add(user=advisor, case_id=case.pk, text="He has a key to the flat")
    services.incident_add(user=advisor, case_id=case.pk, occurred_on=case.created_at.date(), note="Police called")
    case_id = case.pk
    before = list(AuditEvent.objects.filter(case_id=case_id).values_list("pk", "action"))
    assert len(before) >= 4

    CaseRecord.objects.filter(pk=case_id).delete()

    assert not CaseRecord.objects.filter(pk=case_id).exists()
    after = AuditEvent.objects.filter(case_id=case_id).order_by("pk")
    assert list(after.values_list("pk", "action")) == before
    # What survives says who did what and when, and nothing of what was said.
    for event in after:
        text = repr(event.detail)
        assert "key to the flat" not in text and "Police" not in text and "kill" not in text


def test_the_case_page_lists_its_events_without_reasons(people: dict[str, Any]) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    case = services.case_open(user=advisor, conversation_id=chat_with(advisor).pk)
    referral = services.referral_draft(user=advisor, case_id=case.pk)
    services.referral_transition(user=advisor, referral_id=referral.pk, to_state="submitted")
    services.referral_transition(
        user=advisor, referral_id=referral.pk, to_state="withdrawn", reason="She moved to her sister in Leeds"
    )
    page = signed_in(supervisor).get(f"/risk/cases/{case.pk}/").content.decode()
    assert "referral.withdrawn" in page and referral.reference in page
    assert "sister in Leeds" not in page.split('id="audit-heading"')[1]
    assert not AuditEvent.objects.filter(detail__icontains="Leeds").exists()
