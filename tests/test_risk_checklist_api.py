"""The whole checklist through the console's JSON API: the details ticked on an answer, the
professional's section, the version chosen for the victim's age, the prompts, the children and
the safeguarding decision. Every bad input is answered 400 naming its field, and nothing it
carried is stored."""

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from risk import services
from risk.models import Assessment, AuditEvent, CaseRecord, ImmutableError, SafeguardingDecision
from tests import factories
from tests.factories import chat_with, signed_in

pytestmark = pytest.mark.django_db

KEPT = {"c01": {"value": "yes", "source": "", "comment": "kept"}}


@pytest.fixture
def world() -> dict[str, Any]:
    factories.queues()
    advisor, other = factories.staff(), factories.staff()
    conversation = chat_with(advisor)
    case = services.case_open(user=advisor, conversation_id=conversation.pk)
    assessment = services.assessment_start(user=advisor, case_id=case.pk, conversation_id=conversation.pk)
    services.assessment_answer(user=advisor, assessment_id=assessment.pk, answers={"c01": dict(KEPT["c01"])})
    return {
        "advisor": advisor,
        "other": other,
        "client": signed_in(advisor),
        "conversation": conversation,
        "case": case,
        "assessment": assessment,
        "state": f"/risk/api/conversations/{conversation.pk}/",
        "save": f"/risk/api/assessments/{assessment.pk}/",
        "safeguarding": f"/risk/api/cases/{case.pk}/safeguarding/",
    }


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def refused(response: Any, field: str | None, code: str = "invalid") -> dict[str, Any]:
    assert response.status_code == 400, response.content
    error: dict[str, Any] = response.json()["error"]
    assert (error["code"], error.get("field")) == (code, field), error
    if field:
        assert field.split(".")[-1] in error["message"], error
    return error


def unchanged(world: dict[str, Any]) -> None:
    assessment = Assessment.objects.get(pk=world["assessment"].pk)
    assert assessment.answers == KEPT and assessment.professional == {}
    assert assessment.version == "2026.2"
    assert not SafeguardingDecision.objects.exists()
    assert CaseRecord.objects.count() == 1 and Assessment.objects.count() == 1


def tomorrow() -> str:
    return (timezone.localdate() + timedelta(days=1)).isoformat()


def today() -> str:
    return timezone.localdate().isoformat()


def test_the_state_carries_the_whole_definition_the_versions_and_the_new_evaluation(world: dict[str, Any]) -> None:
    state = world["client"].get(world["state"]).json()
    assessment = state["assessment"]
    assert assessment["version"] == "2026.2" and assessment["professional"] == {}
    assert assessment["audience"] == {
        "key": "adult",
        "label": "Adults (16 and over)",
        "min_age": 16,
        "max_age": None,
        "marac": True,
    }
    definition = assessment["definition"]
    assert definition["audience"] == assessment["audience"]
    assert definition["bands"] == {"high_from": 14, "medium_from": 10, "medium_is_local": True}
    assert definition["triggers"] == {"honour": ["c04"], "stalking": ["c08"]}
    assert [p["key"] for p in definition["prompts"]] == [
        "strangulation",
        "threats_to_kill",
        "stalking",
        "separation_control_violence",
    ]
    ticks = {item["key"]: [t["key"] for t in item["ticks"]] for item in definition["core"] if item["ticks"]}
    assert ticks == {
        "c14": ["victim", "children", "others"],
        "c18": ["children", "family_member", "previous_partner", "someone_else"],
        "c21": ["drugs", "alcohol", "mental_health"],
        "c23": [
            "bail",
            "non_molestation",
            "occupation",
            "child_contact",
            "forced_marriage_protection",
            "dapn_dapo",
            "other",
        ],
        "c24": ["domestic_abuse", "sexual_violence", "other_violence", "other"],
    }
    assert all("ticks" in item for name in ("children", "stalking", "honour") for item in definition[name])
    assert [(f["key"], f["kind"]) for f in definition["professional"]] == [
        ("other_factors", "ticks"),
        ("weapons_access", "choice"),
        ("safety_priorities", "text"),
        ("marac_grounds", "choice"),
        ("marac_referred", "choice"),
        ("children_risk", "choice"),
        ("children_referral_made", "choice"),
        ("children_referral_on", "date"),
    ]
    assert len(definition["professional"][0]["options"]) == 8
    assert [(v["version"], v["audience"]["key"]) for v in state["versions"]] == [
        ("2026.2", "adult"),
        ("YP-2026.1", "young_people"),
    ]
    assert state["safeguarding"] is None
    assert state["evaluation"] | {"unanswered": []} == {
        "score": 1,
        "band": "standard",
        "band_label": "Standard",
        "level": "standard",
        "criteria": [],
        "unanswered": [],
        "referral_due": False,
        "prompts": [],
        "marac_applies": True,
        "children_at_risk": False,
        "safeguarding_due": False,
    }
    # Before a case is opened the panel has the current adult checklist and the versions to choose.
    fresh = chat_with(world["advisor"])
    before = world["client"].get(f"/risk/api/conversations/{fresh.pk}/").json()
    assert before["case"] is None and before["checklist"]["version"] == "2026.2"
    assert [v["version"] for v in before["versions"]] == ["2026.2", "YP-2026.1"]
    assert before["checklist"]["professional"] and before["safeguarding"] is None


def test_details_are_ticked_on_a_yes_kept_in_the_item_s_order_and_cleared_by_a_no(world: dict[str, Any]) -> None:
    client = world["client"]
    saved = post(client, world["save"], {"answers": {"c14": {"value": "yes", "ticks": ["others", "victim"]}}})
    assert saved.status_code == 200, saved.content
    answer = saved.json()["assessment"]["answers"]["c14"]
    assert answer == {"value": "yes", "ticks": ["victim", "others"], "source": "", "comment": ""}
    # The prompt for threats to kill, below the high band.
    assert saved.json()["evaluation"]["prompts"][0]["key"] == "threats_to_kill"
    again = post(client, world["save"], {"answers": {"c14": {"value": "no"}}}).json()["assessment"]["answers"]
    assert again["c14"] == {"value": "no", "ticks": [], "source": "", "comment": ""}
    # An item without details keeps the shape it always had.
    assert again["c01"] == KEPT["c01"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"answers": {"c14": {"value": "yes", "ticks": ["neighbour"]}}}, "answers.c14.ticks"),
        ({"answers": {"c14": {"value": "yes", "ticks": ["victim", "Victim!"]}}}, "answers.c14.ticks.1"),
        ({"answers": {"c14": {"value": "yes", "ticks": "victim"}}}, "answers.c14.ticks"),
        ({"answers": {"c14": {"value": "yes", "ticks": [f"t{n}" for n in range(11)]}}}, "answers.c14.ticks"),
        ({"answers": {"c14": {"value": "no", "ticks": ["victim"]}}}, "answers.c14.ticks"),
        ({"answers": {"c14": {"value": "dont_know", "ticks": ["victim"]}}}, "answers.c14.ticks"),
        ({"answers": {"c02": {"value": "yes", "ticks": ["victim"]}}}, "answers.c02.ticks"),
        ({"professional": {"favourite_colour": "yes"}}, "professional.favourite_colour"),
        ({"professional": {"Weapons": "yes"}}, "professional.Weapons.[key]"),
        ({"professional": {"weapons_access": "maybe"}}, "professional.weapons_access"),
        ({"professional": {"weapons_access": ["yes"]}}, "professional.weapons_access"),
        ({"professional": {"weapons_access": True}}, "professional.weapons_access"),
        ({"professional": {"other_factors": "disability"}}, "professional.other_factors"),
        ({"professional": {"other_factors": ["disability", "astrology"]}}, "professional.other_factors"),
        ({"professional": {"other_factors": [1, 2]}}, "professional.other_factors"),
        ({"professional": {"safety_priorities": ["to be safe"]}}, "professional.safety_priorities"),
        ({"professional": {"safety_priorities": "x" * 2001}}, "professional.safety_priorities"),
        ({"professional": {"children_referral_on": "yesterday"}}, "professional.children_referral_on"),
        ({"professional": {"children_referral_on": "2026-02-30"}}, "professional.children_referral_on"),
        ({"professional": {"children_referral_on": "20260101"}}, "professional.children_referral_on"),
        ({"professional": {"children_referral_on": 20260101}}, "professional.children_referral_on"),
        ({"version": "2026.1"}, "version"),
        ({"version": "1999.9"}, "version"),
        ({"version": "not a version!"}, "version"),
        ({"version": 2026}, "version"),
    ],
)
def test_a_bad_detail_field_or_version_is_refused_naming_it(
    world: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    refused(post(world["client"], world["save"], body), field)
    unchanged(world)


def test_a_future_date_is_refused_and_today_is_not(world: dict[str, Any]) -> None:
    error = refused(
        post(world["client"], world["save"], {"professional": {"children_referral_on": tomorrow()}}),
        "professional.children_referral_on",
    )
    assert "future" in error["message"]
    unchanged(world)
    saved = post(world["client"], world["save"], {"professional": {"children_referral_on": today()}})
    assert saved.json()["assessment"]["professional"] == {"children_referral_on": today()}


def test_one_bad_entry_keeps_the_good_ones_of_the_same_body_out_too(world: dict[str, Any]) -> None:
    body = {
        "answers": {"c02": {"value": "yes"}, "c14": {"value": "yes", "ticks": ["nobody"]}},
        "professional": {"weapons_access": "yes"},
        "has_children": True,
    }
    refused(post(world["client"], world["save"], body), "answers.c14.ticks")
    unchanged(world)
    body = {"answers": {"c02": {"value": "yes"}}, "professional": {"weapons_access": "yes", "marac_grounds": "5"}}
    refused(post(world["client"], world["save"], body), "professional.marac_grounds")
    unchanged(world)
    assert not Assessment.objects.get(pk=world["assessment"].pk).has_children


def test_the_professional_s_section_is_a_patch_by_kind(world: dict[str, Any]) -> None:
    client = world["client"]
    body = {
        "professional": {
            "other_factors": ["reluctance", "disability", "disability"],
            "weapons_access": "dont_know",
            "safety_priorities": "To keep the children at school.",
            "marac_grounds": "yes",
            "children_referral_on": today(),
        }
    }
    saved = post(client, world["save"], body)
    assert saved.status_code == 200, saved.content
    assert saved.json()["assessment"]["professional"] == {
        "other_factors": ["disability", "reluctance"],
        "weapons_access": "dont_know",
        "safety_priorities": "To keep the children at school.",
        "marac_grounds": "yes",
        "children_referral_on": today(),
    }
    patched = post(
        client,
        world["save"],
        {
            "professional": {
                "weapons_access": None,
                "other_factors": [],
                "safety_priorities": "  ",
                "marac_referred": "no",
            }
        },
    )
    assert patched.json()["assessment"]["professional"] == {
        "marac_grounds": "yes",
        "marac_referred": "no",
        "children_referral_on": today(),
    }
    event = AuditEvent.objects.filter(action="assessment.answer").last()
    assert event is not None
    assert event.detail["fields"] == ["marac_referred", "other_factors", "safety_priorities", "weapons_access"]
    assert "no" not in json.dumps(event.detail["fields"])  # which fields, never what they say


def test_the_version_is_chosen_when_the_case_opens_or_before_the_first_answer(world: dict[str, Any]) -> None:
    client = world["client"]
    chat = chat_with(world["advisor"])
    refused(post(client, f"/risk/api/conversations/{chat.pk}/case/", {"version": "2026.1"}), "version")
    refused(post(client, f"/risk/api/conversations/{chat.pk}/case/", {"version": "YP 2026"}), "version")
    assert CaseRecord.objects.count() == 1  # nothing opened for a version that is not current

    opened = post(client, f"/risk/api/conversations/{chat.pk}/case/", {"version": "YP-2026.1"})
    assert opened.status_code == 201, opened.content
    state = opened.json()
    assert state["assessment"]["version"] == "YP-2026.1"
    assert state["assessment"]["audience"]["key"] == "young_people"
    assert state["assessment"]["definition"]["audience"]["max_age"] == 17
    assert state["evaluation"]["marac_applies"] is False
    url = f"/risk/api/assessments/{state['assessment']['id']}/"

    # Nothing answered yet: the advisor may still choose the adults' version (and back).
    moved = post(client, url, {"version": "2026.2", "before_you_ask": {"safe_now": True}})
    assert moved.status_code == 200 and moved.json()["assessment"]["version"] == "2026.2"
    assert moved.json()["evaluation"]["marac_applies"] is True
    event = AuditEvent.objects.filter(action="assessment.answer").last()
    assert event is not None and event.detail["version"] == "2026.2"
    moved = post(client, url, {"version": "YP-2026.1", "answers": {"c02": {"value": "yes"}}})
    assert moved.status_code == 200 and moved.json()["assessment"]["version"] == "YP-2026.1"
    assert moved.json()["assessment"]["before_you_ask"] == {"safe_now": True}

    # Answered: the version stays (the same one may be sent again).
    error = refused(post(client, url, {"version": "2026.2"}), "version", "invalid_state")
    assert "before the first answer" in error["message"]
    assert post(client, url, {"version": "YP-2026.1"}).status_code == 200
    assert Assessment.objects.get(pk=state["assessment"]["id"]).version == "YP-2026.1"
    # The case's first assessment was answered too.
    refused(post(client, world["save"], {"version": "YP-2026.1"}), "version", "invalid_state")
    assert Assessment.objects.get(pk=world["assessment"].pk).version == "2026.2"


def test_children_at_risk_ask_for_a_safeguarding_decision_recorded_on_the_case(world: dict[str, Any]) -> None:
    client = world["client"]
    state = post(client, world["save"], {"answers": {"k2": {"value": "yes"}}}).json()
    assert state["evaluation"]["children_at_risk"] and state["evaluation"]["safeguarding_due"]
    state = post(client, world["save"], {"answers": {"k2": None}}).json()
    assert not state["evaluation"]["children_at_risk"]
    state = post(client, world["save"], {"professional": {"children_risk": "yes"}}).json()
    assert state["evaluation"]["children_at_risk"] and state["evaluation"]["safeguarding_due"]

    decided = post(
        client,
        world["safeguarding"],
        {"needed": True, "decided_on": today(), "reason": "Threats to the baby.", "assessment_id": None},
    )
    assert decided.status_code == 201, decided.content
    state = decided.json()
    profile = world["advisor"].staff
    assert state["safeguarding"] == {
        "needed": True,
        "decided_on": today(),
        "reason": "Threats to the baby.",
        "recorded_by": profile.display_name,
    }
    assert state["evaluation"]["children_at_risk"] and not state["evaluation"]["safeguarding_due"]
    assert state["assessment"]["id"] == world["assessment"].pk
    decision = SafeguardingDecision.objects.get()
    decision.reason = "Changed afterwards"
    with pytest.raises(ImmutableError):
        decision.save()
    event = AuditEvent.objects.get(action="safeguarding.decision")
    assert event.detail == {"safeguarding": decision.pk, "assessment": None}
    assert event.case_id == world["case"].pk and event.actor_id == world["advisor"].pk

    # A later decision is a new row; the latest is shown.
    later = post(
        client,
        world["safeguarding"],
        {"needed": False, "decided_on": today(), "reason": "", "assessment_id": world["assessment"].pk},
    )
    assert later.status_code == 201 and later.json()["safeguarding"]["needed"] is False
    assert SafeguardingDecision.objects.count() == 2
    assert SafeguardingDecision.objects.last().assessment_id == world["assessment"].pk  # type: ignore[union-attr]
    assert world["client"].get(world["state"]).json()["safeguarding"]["needed"] is False


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"needed": True, "decided_on": "TODAY", "reason": ""}, "reason", "reason_required"),
        ({"needed": True, "decided_on": "TODAY", "reason": "   "}, "reason", "reason_required"),
        ({"needed": True, "decided_on": "TODAY"}, "reason", "reason_required"),
        ({"needed": False, "decided_on": "TOMORROW"}, "decided_on", "invalid"),
        ({"needed": False, "decided_on": "01/02/2026"}, "decided_on", "invalid"),
        ({"needed": False, "decided_on": "2026-02-30"}, "decided_on", "invalid"),
        ({"needed": False}, "decided_on", "invalid"),
        ({"decided_on": "TODAY"}, "needed", "invalid"),
        ({"needed": "yes", "decided_on": "TODAY"}, "needed", "invalid"),
        ({"needed": True, "decided_on": "TODAY", "reason": "x" * 2001}, "reason", "invalid"),
        ({"needed": False, "decided_on": "TODAY", "assessment_id": "1"}, "assessment_id", "invalid"),
        ({"needed": False, "decided_on": "TODAY", "assessment_id": 2**31 - 1}, "assessment_id", "invalid"),
    ],
)
def test_a_bad_safeguarding_decision_is_refused_naming_the_field(
    world: dict[str, Any], body: dict[str, Any], field: str, code: str
) -> None:
    dates = {"TODAY": today(), "TOMORROW": tomorrow()}
    body = {key: dates.get(value, value) if isinstance(value, str) else value for key, value in body.items()}
    refused(post(world["client"], world["safeguarding"], body), field, code)
    unchanged(world)


def test_a_decision_names_an_assessment_of_its_own_case_only(world: dict[str, Any]) -> None:
    other_case = factories.case_with_chat(world["advisor"])
    elsewhere = services.assessment_start(user=world["advisor"], case_id=other_case.pk)
    body = {"needed": False, "decided_on": today(), "assessment_id": elsewhere.pk}
    refused(post(world["client"], world["safeguarding"], body), "assessment_id")
    assert not SafeguardingDecision.objects.exists()


def test_another_advisor_s_case_answers_not_found_and_changes_nothing(world: dict[str, Any]) -> None:
    intruder = signed_in(world["other"])
    for url, body in (
        (world["safeguarding"], {"needed": True, "decided_on": today(), "reason": "Mine now."}),
        (world["save"], {"professional": {"weapons_access": "yes"}}),
        (world["save"], {"answers": {"c14": {"value": "yes", "ticks": ["victim"]}}}),
        (world["save"], {"version": "YP-2026.1"}),
    ):
        response = post(intruder, url, body)
        assert response.status_code == 404, (url, response.content)
        assert response.json()["error"]["code"] == "not_found"
        assert world["case"].reference not in response.content.decode()
    unchanged(world)
    refusals = AuditEvent.objects.filter(actor_id=world["other"].pk, action="case.refused")
    assert refusals.count() == 4


def test_escalation_counts_only_incidents_reported_to_the_police(world: dict[str, Any]) -> None:
    advisor, case = world["advisor"], world["case"]
    for days in (5, 20, 40):
        services.incident_add(
            user=advisor, case_id=case.pk, occurred_on=timezone.localdate() - timedelta(days=days), reported_to="GP"
        )
    state = world["client"].get(world["state"]).json()
    assert not any(c["key"] == "potential_escalation" for c in state["evaluation"]["criteria"])
    for days in (6, 21, 41):
        services.incident_add(
            user=advisor,
            case_id=case.pk,
            occurred_on=timezone.localdate() - timedelta(days=days),
            reported_to="Police (999 call)",
            reported_to_police=True,
        )
    criteria = world["client"].get(world["state"]).json()["evaluation"]["criteria"]
    assert {"key": "potential_escalation", "detail": "3 incidents in the window"} in criteria
    # The case page's incident form says whether the police were told.
    page = f"/risk/cases/{case.pk}/"
    for police in ("on", ""):
        sent = {"action": "incident", "occurred_on": today(), "reported_to": "Neighbour", "reported_to_police": police}
        assert world["client"].post(page, sent).status_code == 302
    latest = list(case.incidents.order_by("-pk").values_list("reported_to_police", flat=True)[:2])
    assert latest == [False, True]
