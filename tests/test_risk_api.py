"""The checklist's JSON API checks every body against its schema: malformed, oversized, unknown
and wrongly typed input is answered 400 naming the field, and changes nothing."""

import json
from typing import Any

import pytest
from django.test import Client

from risk import services
from risk.api_schemas import Body
from risk.models import Assessment, CaseRecord, Referral
from tests import factories
from tests.test_risk_access import signed_in
from tests.test_risk_cases import chat_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> dict[str, Any]:
    factories.queues()
    advisor = factories.staff()
    conversation = chat_with(advisor)
    case = services.case_open(user=advisor, conversation_id=conversation.pk)
    assessment = services.assessment_start(user=advisor, case_id=case.pk, conversation_id=conversation.pk)
    services.assessment_answer(
        user=advisor, assessment_id=assessment.pk, answers={"c01": {"value": "yes", "comment": "kept"}}
    )
    return {
        "advisor": advisor,
        "client": signed_in(advisor),
        "conversation": conversation,
        "case": case,
        "assessment": assessment,
        "urls": {
            "case": f"/risk/api/conversations/{conversation.pk}/case/",
            "assessment": f"/risk/api/assessments/{assessment.pk}/",
            "referral": f"/risk/api/cases/{case.pk}/referrals/",
        },
    }


def post(client: Client, url: str, body: Any) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(url, raw, content_type="application/json")


def refused(response: Any, field: str | None, code: str = "invalid") -> dict[str, Any]:
    assert response.status_code == 400, response.content
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    assert error.get("field") == field, error
    if field:
        assert field in error["message"], error
    return error


def unchanged(world: dict[str, Any]) -> None:
    """Nothing a refused body carried was stored."""
    assessment = Assessment.objects.get(pk=world["assessment"].pk)
    assert assessment.answers == {"c01": {"value": "yes", "source": "", "comment": "kept"}}
    assert (assessment.has_children, assessment.honour_flag, assessment.judgement_high) == (False, False, False)
    assert assessment.before_you_ask == {} and assessment.judgement_reason == ""
    assert CaseRecord.objects.count() == 1 and Assessment.objects.count() == 1
    assert not Referral.objects.exists()


def test_every_post_endpoint_has_a_schema_that_refuses_unknown_fields(world: dict[str, Any]) -> None:
    assert {schema.__name__ for schema in Body.__subclasses__()} == {
        "CaseOpen",
        "Answer",
        "AssessmentPatch",
        "ReferralStart",
        "SafeguardingDecisionBody",
        # Return phrases (risk.return_phrase_schemas; their refusals in tests/test_return_phrases.py).
        "PhraseIssue",
        "PhraseRevoke",
        "PhraseAttach",
    }
    for url in world["urls"].values():
        error = refused(post(world["client"], url, {"colour": "red"}), "colour")
        assert error["message"] == "Unknown field 'colour'."
    decision = {"needed": False, "decided_on": "2026-01-01", "colour": "red"}
    error = refused(post(world["client"], f"/risk/api/cases/{world['case'].pk}/safeguarding/", decision), "colour")
    assert error["message"] == "Unknown field 'colour'."
    error = refused(
        post(world["client"], world["urls"]["assessment"], {"answers": {"c01": {"value": "no", "note": "x"}}}),
        "answers.c01.note",
    )
    assert "Unknown field" in error["message"]
    unchanged(world)


@pytest.mark.parametrize(
    ("url", "body", "code", "message"),
    [
        ("assessment", b"{not json", "bad_json", "The body is not JSON."),
        ("case", b'{"reference": ', "bad_json", "The body is not JSON."),
        ("referral", b"[" * 10_000 + b"]" * 10_000, "bad_json", "The body is not JSON."),
        ("assessment", ["a list"], "invalid", "Send a JSON object."),
        ("case", "a string", "invalid", "Send a JSON object."),
        ("referral", 5, "invalid", "Send a JSON object."),
        ("assessment", None, "invalid", "Send a JSON object."),
    ],
)
def test_a_malformed_body_is_refused(world: dict[str, Any], url: str, body: Any, code: str, message: str) -> None:
    error = refused(post(world["client"], world["urls"][url], body), None, code)
    assert error["message"] == message
    unchanged(world)


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("assessment", {"has_children": "yes"}, "has_children"),
        ("assessment", {"honour_flag": 1}, "honour_flag"),
        ("assessment", {"judgement_high": "true"}, "judgement_high"),
        ("assessment", {"judgement_reason": 5}, "judgement_reason"),
        ("assessment", {"answers": ["c01"]}, "answers"),
        ("assessment", {"answers": {"c01": "yes"}}, "answers.c01"),
        ("assessment", {"answers": {"c01": {"value": "maybe"}}}, "answers.c01.value"),
        ("assessment", {"answers": {"c01": {"value": True}}}, "answers.c01.value"),
        ("assessment", {"answers": {"c01": {"value": "yes", "source": 7}}}, "answers.c01.source"),
        ("assessment", {"answers": {"C 01!": {"value": "yes"}}}, "answers.C 01!.[key]"),
        ("assessment", {"before_you_ask": {"safe_now": "true"}}, "before_you_ask.safe_now"),
        ("case", {"reference": 12345}, "reference"),
        ("case", {"reference": None}, "reference"),
        ("referral", {"assessment_id": "5"}, "assessment_id"),
        ("referral", {"assessment_id": 1.5}, "assessment_id"),
        ("referral", {"assessment_id": 0}, "assessment_id"),
        ("referral", {"assessment_id": 2**40}, "assessment_id"),
    ],
)
def test_a_wrong_type_is_refused_naming_the_field(world: dict[str, Any], url: str, body: Any, field: str) -> None:
    refused(post(world["client"], world["urls"][url], body), field)
    unchanged(world)


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("assessment", {"answers": {"c02": {"value": "yes", "comment": "x" * 2001}}}, "answers.c02.comment"),
        ("assessment", {"answers": {"c02": {"value": "yes", "source": "x" * 201}}}, "answers.c02.source"),
        ("assessment", {"judgement_reason": "x" * 4001}, "judgement_reason"),
        ("assessment", {"answers": {f"k{n}": None for n in range(101)}}, "answers"),
        ("assessment", {"answers": {"c" * 21: {"value": "yes"}}}, f"answers.{'c' * 21}.[key]"),
        ("assessment", {"before_you_ask": {f"k{n}": True for n in range(41)}}, "before_you_ask"),
        ("case", {"reference": "C-" + "A" * 39}, "reference"),
    ],
)
def test_an_oversized_field_is_refused_not_cut_short(world: dict[str, Any], url: str, body: Any, field: str) -> None:
    error = refused(post(world["client"], world["urls"][url], body), field)
    assert "at most" in error["message"]
    unchanged(world)


def test_the_largest_accepted_values_are_stored_whole(world: dict[str, Any]) -> None:
    answer = {"value": "dont_know", "source": "s" * 200, "comment": "é" * 2000}
    response = post(
        world["client"],
        world["urls"]["assessment"],
        {"answers": {"c02": answer, "c01": None}, "judgement_reason": "r" * 4000, "has_children": True},
    )
    assert response.status_code == 200, response.content
    state = response.json()["assessment"]
    assert state["answers"] == {"c02": answer} and state["has_children"] is True
    assessment = Assessment.objects.get(pk=world["assessment"].pk)
    assert assessment.answers == {"c02": answer} and assessment.judgement_reason == "r" * 4000


def test_a_well_formed_body_the_records_refuse_is_still_a_clear_error(world: dict[str, Any]) -> None:
    client, urls = world["client"], world["urls"]
    error = refused(post(client, urls["assessment"], {"answers": {"c99": {"value": "yes"}}}), None)
    assert "No item 'c99'" in error["message"]
    error = refused(post(client, urls["assessment"], {"before_you_ask": {"no_such_thing": True}}), None)
    assert error["message"] == "Unknown confirmation."
    response = post(client, urls["assessment"], {"judgement_high": True})
    assert response.status_code == 400 and response.json()["error"]["code"] == "reason_required"
    unchanged(world)


def test_the_console_s_bodies_are_accepted(world: dict[str, Any]) -> None:
    client, urls = world["client"], world["urls"]
    for body in (
        {"answers": {"c03": {"value": "no", "source": "", "comment": ""}}},
        {"answers": {"c03": {"value": None, "source": "", "comment": ""}}},
        {"before_you_ask": {"safe_now": True}},
        {"has_children": False, "honour_flag": True},
        {"judgement_reason": "Her words", "judgement_high": True},
        {},
    ):
        assert post(client, urls["assessment"], body).status_code == 200, body
    assert client.post(urls["assessment"], b"", content_type="application/json").status_code == 200
    created = post(client, urls["referral"], {"assessment_id": world["assessment"].pk})
    assert created.status_code == 201
    referral = created.json()["referral"]
    assert referral["state"] == "draft" and referral["url"] == f"/risk/referrals/{referral['id']}/"
    assert referral["moves"] == ["submitted", "withdrawn"]
    assert post(client, urls["referral"], {}).status_code == 201
    # A second conversation of the same visitor's case, attached by its reference (typed loosely).
    other = chat_with(world["advisor"])
    attached = post(
        client, f"/risk/api/conversations/{other.pk}/case/", {"reference": f" {world['case'].reference.lower()} "}
    )
    assert attached.status_code == 201 and attached.json()["case"]["id"] == str(world["case"].pk)
