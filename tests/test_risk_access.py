"""Every HTTP path to a case goes through the gate: pages, the checklist API and the exports.
An advisor who does not own a case (and has no share of it) gets "not found" from each one,
while its owner reaches the same URLs; bad input is refused with a clear error."""

import json
from typing import Any

import pytest
from django.test import Client

from risk import referrals, services, snapshots
from risk.models import AuditEvent
from tests import factories
from tests.factories import chat_with, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> dict[str, Any]:
    factories.queues()
    advisor, other = factories.staff(), factories.staff()
    conversation = chat_with(advisor)
    case = services.case_open(user=advisor, conversation_id=conversation.pk)
    assessment = services.assessment_start(user=advisor, case_id=case.pk, conversation_id=conversation.pk)
    referral = referrals.referral_draft(user=advisor, case_id=case.pk)
    snapshot = snapshots.snapshot_make(user=advisor, case_id=case.pk, conversation_id=conversation.pk)
    return {
        "advisor": advisor,
        "other": other,
        "conversation": conversation,
        "case": case,
        "assessment": assessment,
        "referral": referral,
        "snapshot": snapshot,
    }


def paths(w: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    answer = {"answers": {"c01": {"value": "yes"}}}
    return [
        ("get", f"/risk/cases/{w['case'].pk}/", {}),
        ("get", f"/risk/snapshots/{w['snapshot'].pk}.json", {}),
        ("get", f"/risk/snapshots/{w['snapshot'].pk}.pdf", {}),
        ("get", f"/risk/referrals/{w['referral'].pk}/", {}),
        ("post", f"/risk/referrals/{w['referral'].pk}/", {"action": "submitted", "reason": ""}),
        ("json", f"/risk/api/assessments/{w['assessment'].pk}/", answer),
        ("json", f"/risk/api/cases/{w['case'].pk}/referrals/", {}),
        (
            "json",
            f"/risk/api/cases/{w['case'].pk}/safeguarding/",
            {"needed": True, "decided_on": "2026-01-05", "reason": "Threats to the children"},
        ),
    ]


def call(client: Client, method: str, url: str, data: dict[str, Any]) -> Any:
    if method == "get":
        return client.get(url)
    if method == "post":
        return client.post(url, data)
    return client.post(url, json.dumps(data), content_type="application/json")


def test_another_advisor_reaches_nothing_by_any_http_path(world: dict[str, Any]) -> None:
    intruder = signed_in(world["other"])
    before = AuditEvent.objects.count()
    for method, url, data in paths(world):
        response = call(intruder, method, url, data)
        assert response.status_code == 404, (method, url, response.status_code)
        assert world["case"].reference.encode() not in response.content, url
    # The checklist state of someone else's conversation shows no case at all.
    state = intruder.get(f"/risk/api/conversations/{world['conversation'].pk}/").json()
    assert state["case"] is None and state["assessment"] is None
    # Attaching another advisor's chat to the case by its reference is refused too.
    response = intruder.post(
        f"/risk/api/conversations/{world['conversation'].pk}/case/",
        json.dumps({"reference": world["case"].reference}),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    # The queue is for supervisors only.
    assert intruder.get("/risk/referrals/").status_code in (302, 403)
    # Nothing was read: under the intruder's name the trail holds refusals only, one for each
    # attempt, naming the records asked for and nothing of their content.
    trail = AuditEvent.objects.filter(pk__gt=before, actor=world["other"])
    actions = list(trail.values_list("action", flat=True))
    assert actions and all(action.endswith(".refused") for action in actions), actions
    assert {"case.refused", "snapshot.refused", "referral.refused", "conversation.refused", "page.refused"} <= set(
        actions
    )
    assert trail.filter(action="case.refused", case_id=world["case"].pk).count() >= 2
    assert trail.filter(action="snapshot.refused", detail__requested=str(world["snapshot"].pk)).count() == 2


def test_the_owner_reaches_every_path_and_each_read_is_audited(world: dict[str, Any]) -> None:
    owner = signed_in(world["advisor"])
    for method, url, data in paths(world)[:4]:
        assert call(owner, method, url, data).status_code == 200, url
    trail = AuditEvent.objects.filter(case=world["case"], actor=world["advisor"])
    actions = set(trail.values_list("action", flat=True))
    assert {"case.read", "snapshot.export_json", "snapshot.export_pdf", "referral.read"} <= actions, actions


def test_bad_input_gets_a_clear_error(world: dict[str, Any]) -> None:
    owner = signed_in(world["advisor"])
    url = f"/risk/api/assessments/{world['assessment'].pk}/"
    response = owner.post(url, b"{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_json"
    response = owner.post(url, json.dumps({"answers": {}, "colour": "red"}), content_type="application/json")
    assert response.status_code == 400 and "colour" in response.json()["error"]["message"]
    response = owner.post(url, json.dumps(["a list"]), content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
    response = owner.post(url, json.dumps({"answers": {"c01": {"value": "maybe"}}}), content_type="application/json")
    assert response.status_code == 400
    assert owner.get(f"/risk/snapshots/{world['snapshot'].pk}.docx").status_code == 404


def test_the_referral_form_takes_people_and_marks_the_unknown(world: dict[str, Any]) -> None:
    owner = signed_in(world["advisor"])
    url = f"/risk/referrals/{world['referral'].pk}/"
    page = owner.get(url).content.decode()
    assert "Secure email" in page and "Who the victim fears" in page and "Perpetrator 1" in page
    assert 'name="consent.consent_given"' in page and "<select" in page
    response = owner.post(
        url,
        {
            "action": "save",
            "victim.forenames": "A.",
            "consent.consent_given": "yes",
            "perpetrators.0.name": "B.",
            "perpetrators.0.relationship": "ex-partner",
            "perpetrators.1.name": "",
            "household.0.name": "C.",
            "household.0.school": "",
        },
    )
    assert response.status_code == 302
    world["referral"].refresh_from_db()
    form = world["referral"].form
    assert form["consent"]["consent_given"] == "yes" and form["victim"]["surname"] is None
    assert form["perpetrators"] == [
        {"name": "B.", "aliases": None, "date_of_birth": None, "address": None, "relationship": "ex-partner"}
    ]
    assert [p["name"] for p in form["household"]] == ["C."] and form["household"][0]["school"] is None
    for bad in ([{"colour": "red"}], ["a string"], [{"name": 7}]):
        with pytest.raises(services.RiskError, match="perpetrators"):
            referrals.referral_update(
                user=world["advisor"], referral_id=world["referral"].pk, form={"perpetrators": bad}
            )


def test_chosen_transcript_excerpts_go_into_the_referral(world: dict[str, Any]) -> None:
    owner = signed_in(world["advisor"])
    url = f"/risk/referrals/{world['referral'].pk}/"
    lines = {m.text: m.pk for m in world["conversation"].messages.filter(kind="text")}
    page = owner.get(url).content.decode()
    assert "Transcript excerpts to include" in page and "Threats to kill" not in page  # notes are not offered
    chosen = lines["He said he would kill me — café"]
    assert owner.post(url, {"action": "save", "excerpts_shown": "1", "excerpt": [chosen]}).status_code == 302
    world["referral"].refresh_from_db()
    excerpts = world["referral"].form["risk_summary"]["excerpts"]
    assert [e["text"] for e in excerpts] == ["He said he would kill me — café"]
    # A message from another chat, or not a number, is refused with a clear error and nothing changes.
    elsewhere = chat_with(world["other"]).messages.filter(kind="text").first()
    assert elsewhere is not None
    for bad in ([str(elsewhere.pk)], ["x"]):
        response = owner.post(url, {"action": "save", "excerpts_shown": "1", "excerpt": bad})
        assert response.status_code == 400 and "excerpt must be a message" in response.content.decode()
    world["referral"].refresh_from_db()
    assert world["referral"].form["risk_summary"]["excerpts"] == excerpts
