"""The end-of-chat record: who may write it, what it refuses, and that it outlives the chat."""

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from agents.models import ContactStatistic
from chat.models import Conversation, DirectoryEntry, ReferralDestination, ServiceGiven
from chat.retention import retention_purge, statistics_roll_up
from chat.services.handoff import conversation_end_staff
from chat.services.kernel import staff_actor
from risk import services as risk
from tests import factories
from tests.support.ws import verified_session_cookie
from tests.test_risk_cases import chat_with

RECORD = {
    "services": ["emotional_support", "legal_information", "emotional_support"],
    "referrals": ["police", "refuge"],
    "gender": "woman",
    "age_band": "25_34",
    "said_returning": "no",
}


def client_for(user: Any) -> Client:
    client = Client()
    client.cookies["sessionid"] = verified_session_cookie(user).split("=", 1)[1]
    return client


def post(client: Client, conversation: Conversation, body: Any) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(f"/console/api/conversations/{conversation.pk}/record/", raw, content_type="application/json")


def ended_chat(advisor: Any) -> Conversation:
    conversation = chat_with(advisor)
    actor = staff_actor(user_id=advisor.pk)
    return conversation_end_staff(actor=actor, conversation_id=conversation.pk, outcome="emotional_support")


@pytest.mark.django_db
def test_the_advisor_records_an_ended_chat_and_it_is_kept_in_its_statistics() -> None:
    factories.queues()
    advisor = factories.staff()
    conversation = ended_chat(advisor)
    response = post(client_for(advisor), conversation, RECORD)
    assert response.status_code == 200, response.content
    row = ContactStatistic.objects.get(conversation=conversation)
    assert row.recorded and row.outcome == "emotional_support"  # the outcome stays as it was
    assert row.services == ["emotional_support", "legal_information"]  # once each, in order
    assert row.referrals == ["police", "refuge"]
    assert (row.gender, row.age_band, row.said_returning) == ("woman", "25_34", "no")
    assert statistics_roll_up() == 0  # counted once, by the record
    # A correction replaces the record.
    assert post(client_for(advisor), conversation, {"services": ["information"]}).status_code == 200
    row.refresh_from_db()
    assert row.services == ["information"] and row.referrals == [] and row.gender == ""
    # The chat is erased by the retention purge; the record stays with the anonymous row.
    Conversation.objects.filter(pk=conversation.pk).update(closed_at=timezone.now() - timedelta(days=30))
    assert retention_purge() == 1
    row.refresh_from_db()
    assert row.conversation_id is None and row.services == ["information"] and row.recorded
    assert row.contact_at.minute == 0
    # Nobody can reach it any more.
    assert post(client_for(advisor), conversation, RECORD).status_code == 404


@pytest.mark.django_db
def test_bad_records_are_refused_clearly_and_change_nothing() -> None:
    factories.queues()
    advisor = factories.staff()
    conversation = ended_chat(advisor)
    client = client_for(advisor)
    assert post(client, conversation, RECORD).status_code == 200
    for body, status, words in (
        (b"{not json", 400, "not JSON"),
        (b"\xff\xfe", 400, "JSON in UTF-8"),
        ([1, 2], 400, "valid dictionary"),
        ({**RECORD, "name": "Ann"}, 400, "name: Extra inputs are not permitted"),
        ({**RECORD, "gender": "female"}, 400, "gender: Input should be"),
        ({**RECORD, "services": ["made_up"]}, 400, "Not a choice the helpline offers for services: made_up"),
        ({**RECORD, "referrals": ["bad slug!"]}, 400, "referrals.0: String should match pattern"),
        ({**RECORD, "services": ["information"] * 41}, 400, "services: List should have at most 40 items"),
    ):
        response = post(client, conversation, body)
        assert response.status_code == status, body
        error = response.json()["error"]  # the input guard answers bodies that are not UTF-8 itself
        assert words in (error if isinstance(error, str) else error["message"]), (body, error)
    row = ContactStatistic.objects.get(conversation=conversation)
    assert row.services == ["emotional_support", "legal_information"] and row.gender == "woman"
    # A choice turned off in the admin is refused too.
    ServiceGiven.objects.filter(slug="legal_information").update(active=False)
    refused = post(client, conversation, {"services": ["legal_information"]})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "unknown_choice"


@pytest.mark.django_db
def test_only_the_holder_or_a_supervisor_may_record_and_only_once_ended() -> None:
    factories.queues()
    advisor, other, supervisor = factories.staff(), factories.staff(), factories.staff(role="supervisor")
    conversation = chat_with(advisor)
    open_chat = post(client_for(advisor), conversation, RECORD)
    assert open_chat.status_code == 400 and open_chat.json()["error"]["code"] == "not_ended"
    assert not ContactStatistic.objects.filter(conversation=conversation).exists()
    conversation_end_staff(actor=staff_actor(user_id=advisor.pk), conversation_id=conversation.pk, outcome="other")
    stranger = post(client_for(other), conversation, RECORD)
    assert stranger.status_code == 404 and stranger.json()["error"]["code"] == "not_found"
    assert not ContactStatistic.objects.filter(conversation=conversation, recorded=True).exists()
    assert post(client_for(supervisor), conversation, RECORD).status_code == 200
    anonymous = Client().post(f"/console/api/conversations/{conversation.pk}/record/", "{}", "application/json")
    assert anonymous.status_code == 302
    assert client_for(advisor).get(f"/console/api/conversations/{conversation.pk}/record/").status_code == 405


@pytest.mark.django_db
def test_the_options_follow_the_admin_and_name_directory_entries() -> None:
    advisor = factories.staff()
    entry = DirectoryEntry.objects.create(name="Harbour House", kind="refuge", contact_route="Through the helpline")
    ReferralDestination.objects.filter(slug="refuge").update(directory_entry=entry, label="Refuge")
    ServiceGiven.objects.filter(slug="children_safety").update(active=False)
    options = client_for(advisor).get("/console/api/record-options/").json()
    assert "children_safety" not in [s["value"] for s in options["services"]]
    assert {"value": "refuge", "label": "Refuge", "directory": "Harbour House"} in options["referrals"]
    assert [g["value"] for g in options["genders"]] == ["woman", "man", "non_binary", "another"]
    assert options["age_bands"][0] == {"value": "under_18", "label": "Under 18"}


@pytest.mark.django_db
def test_returning_is_counted_from_a_case_the_chat_was_attached_to() -> None:
    factories.queues()
    advisor = factories.staff()
    first = chat_with(advisor)
    case = risk.case_open(user=advisor, conversation_id=first.pk)
    actor = staff_actor(user_id=advisor.pk)
    conversation_end_staff(actor=actor, conversation_id=first.pk, outcome="other")
    # The same person comes back in a new session and gives their case reference.
    second = chat_with(advisor)
    risk.case_attach(user=advisor, reference=case.reference, conversation_id=second.pk)
    conversation_end_staff(actor=actor, conversation_id=second.pk, outcome="other")
    third = ended_chat(advisor)  # someone new
    statistics_roll_up()
    returning = dict(ContactStatistic.objects.values_list("conversation_id", "returning"))
    assert returning == {first.pk: False, second.pk: True, third.pk: False}
