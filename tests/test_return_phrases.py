"""Return phrases: a returning visitor's new chat linked to their case by words they were given,
with their consent. The words are shown once and never kept (only a slow keyed hash); a wrong
phrase is counted, slowed down, then refused; a phrase can be revoked; every step is audited
without the words; the phrases go with the case when it is erased."""

import hashlib
import hmac
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from agents.audit_models import AuditEvent
from chat.models import Message
from chat.services.kernel import staff_actor
from chat.services.message import message_send_staff, message_send_visitor
from risk import referrals, retention, return_phrase_guard, return_phrases, services
from risk.models import CaseConversation, CaseRecord, ReturnPhrase, ReturnPhraseMiss, ReturnPhraseUse
from tests import factories
from tests.factories import chat_with, signed_in
from tests.test_case_retention import end_chat

pytestmark = pytest.mark.django_db


def refused(code: str, call: Any, **kwargs: Any) -> services.RiskError:
    with pytest.raises(services.RiskError) as error:
        call(**kwargs)
    assert error.value.code == code, error.value.message
    return error.value


DEFAULT_COST = 2**15


@pytest.fixture(autouse=True)
def fast(settings: Any) -> None:
    """A cheaper hash, so that many tries run quickly (the cost is a setting like any other; the
    default cost is tested on its own)."""
    assert settings.RISK["RETURN_PHRASE_SCRYPT_N"] == DEFAULT_COST
    settings.RISK = {**settings.RISK, "RETURN_PHRASE_SCRYPT_N": 2**10}


@pytest.fixture
def first(people: dict[str, Any]) -> dict[str, Any]:
    """The advisor's case on a first chat, with a phrase offered in it."""
    advisor = people["advisor"]
    conversation = chat_with(advisor)
    case = services.case_open(user=advisor, conversation_id=conversation.pk)
    issued = return_phrases.return_phrase_issue(user=advisor, case_id=case.pk, conversation_id=conversation.pk)
    return {"case": case, "conversation": conversation, "issued": issued, **people}


def stored_text() -> str:
    """Every row of every table, as text: where a phrase's words must never be."""
    dump: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (table names from the schema)
            dump.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(dump)


# --- The words and the hash ---------------------------------------------------------------------


def test_the_word_list_has_2048_distinct_plain_words() -> None:
    words = return_phrases.words()
    assert len(words) == len(set(words)) == 2048
    assert all(word.isascii() and word.isalpha() and word.islower() and 3 <= len(word) <= 9 for word in words)


def test_a_new_phrase_is_four_words_of_the_list_and_differs_each_time() -> None:
    made = {return_phrases.phrase_new() for _ in range(50)}
    assert len(made) == 50
    for phrase in made:
        parts = phrase.split(" ")
        assert len(parts) == 4 and set(parts) <= set(return_phrases.words())


def test_case_spaces_and_punctuation_do_not_matter() -> None:
    assert return_phrases.phrase_normalised("  Otter, MAPLE-lantern\tpebble. ") == "otter maple lantern pebble"
    wide = "\uff2f\uff34\uff34\uff25\uff32"  # OTTER in full-width letters, as some keyboards type them
    assert return_phrases.phrase_normalised(f"{wide} maple lantern pebble") == "otter maple lantern pebble"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("otter maple lantern", "4 words; 3 given"),
        ("otter maple lantern pebble acorn", "4 words; 5 given"),
        ("", "4 words; 0 given"),
        ("otter maple lantern zzzzz", "“zzzzz” is not one of the return phrase words"),
        ("otter maple lantern " + "x" * 200, "at most 200 characters"),
    ],
)
def test_a_phrase_that_is_not_four_listed_words_is_refused(text: str, says: str) -> None:
    error = refused("invalid", return_phrases.phrase_normalised, text=text)
    assert says in error.message and error.field == "phrase"


def test_the_default_cost_is_scrypt_at_2_to_the_15(settings: Any) -> None:
    settings.RISK = {**settings.RISK, "RETURN_PHRASE_SCRYPT_N": DEFAULT_COST}
    key = str(settings.RISK["RETURN_PHRASE_KEY"]).encode()
    salt = hmac.new(key, b"return-phrase:v1", hashlib.sha256).digest()
    expected = hashlib.scrypt(
        b"otter maple lantern pebble", salt=salt, n=DEFAULT_COST, r=8, p=1, maxmem=2**26, dklen=32
    )
    assert return_phrases.phrase_digest("otter maple lantern pebble") == expected.hex()


def test_the_hash_is_slow_keyed_and_the_same_for_the_same_words(settings: Any) -> None:
    digest = return_phrases.phrase_digest("otter maple lantern pebble")
    assert digest == return_phrases.phrase_digest("otter maple lantern pebble")
    assert digest != return_phrases.phrase_digest("otter maple lantern acorn")
    assert digest != hashlib.sha256(b"otter maple lantern pebble").hexdigest()
    settings.RISK = {**settings.RISK, "RETURN_PHRASE_KEY": "another-key"}
    assert return_phrases.phrase_digest("otter maple lantern pebble") != digest


# --- Offering a phrase ----------------------------------------------------------------------------


def test_a_phrase_is_shown_once_and_only_its_hash_is_kept(first: dict[str, Any]) -> None:
    issued = first["issued"]
    phrase = ReturnPhrase.objects.get()
    assert phrase.case == first["case"] and phrase.active and phrase.conversation == first["conversation"]
    assert phrase.digest == return_phrases.phrase_digest(issued.words)
    # Not in any table (the chat's messages and the audit trail among them).
    assert issued.words not in stored_text()
    assert not Message.objects.filter(text__icontains=issued.words).exists()
    event = AuditEvent.objects.filter(action="return_phrase.issue").get()
    assert event.detail == {"return_phrase": phrase.pk, "conversation": str(first["conversation"].pk)}
    assert event.case_id == first["case"].pk and event.actor_id == first["advisor"].pk


def test_a_new_phrase_revokes_the_earlier_one(first: dict[str, Any]) -> None:
    again = return_phrases.return_phrase_issue(user=first["advisor"], case_id=first["case"].pk)
    earlier = ReturnPhrase.objects.exclude(pk=again.phrase.pk).get()
    assert earlier.revoked_at is not None and earlier.revoked_by == first["advisor"]
    assert list(ReturnPhrase.objects.filter(revoked_at__isnull=True)) == [again.phrase]
    assert AuditEvent.objects.filter(action="return_phrase.revoke", detail__return_phrase=earlier.pk).exists()
    other_chat = chat_with(first["other"])
    refused(
        "wrong_phrase",
        return_phrases.case_attach_by_phrase,
        user=first["other"],
        conversation_id=other_chat.pk,
        phrase=first["issued"].words,
        consent=True,
    )


def test_only_those_who_hold_the_case_offer_a_phrase(first: dict[str, Any]) -> None:
    refused("not_found", return_phrases.return_phrase_issue, user=first["other"], case_id=first["case"].pk)
    refused("not_found", return_phrases.return_phrase_issue, user=first["other"], case_id="not-a-case")
    error = refused(
        "invalid",
        return_phrases.return_phrase_issue,
        user=first["advisor"],
        case_id=first["case"].pk,
        conversation_id=chat_with(first["other"]).pk,
    )
    assert error.field == "conversation_id"
    assert ReturnPhrase.objects.count() == 1
    # A supervisor holds every case.
    return_phrases.return_phrase_issue(user=first["supervisor"], case_id=first["case"].pk)
    assert ReturnPhrase.objects.filter(revoked_at__isnull=True).get().issued_by == first["supervisor"]


# --- Linking a later chat -------------------------------------------------------------------------


def test_a_later_chat_is_linked_by_the_phrase_with_consent(first: dict[str, Any]) -> None:
    other = first["other"]
    later = chat_with(other)
    spoken = "  " + first["issued"].words.upper().replace(" ", ", ") + " "
    case = return_phrases.case_attach_by_phrase(user=other, conversation_id=later.pk, phrase=spoken, consent=True)
    assert case == first["case"]
    assert set(case.conversation_links.values_list("conversation_id", flat=True)) == {
        first["conversation"].pk,
        later.pk,
    }
    use = ReturnPhraseUse.objects.get()
    assert use.conversation == later and use.linked_by == other and use.consent_at is not None
    # The advisor of the later chat holds the case now: its history is theirs to see.
    assert services.case_for_user(user=other, case_id=case.pk) == case
    attach = AuditEvent.objects.get(action="case.attach")
    assert attach.detail == {
        "conversation": str(later.pk),
        "return_phrase": use.phrase_id,
        "consent": True,
        "masked_entries": [],
    }
    assert AuditEvent.objects.filter(action="case.shared", detail__with_user_id=other.pk).exists()
    assert not ReturnPhraseMiss.objects.exists()
    # The phrase stays live for the next time.
    third = chat_with(first["advisor"])
    return_phrases.case_attach_by_phrase(
        user=first["advisor"], conversation_id=third.pk, phrase=first["issued"].words, consent=True
    )
    assert ReturnPhraseUse.objects.count() == 2
    assert not AuditEvent.objects.filter(action="case.shared", detail__with_user_id=first["advisor"].pk).exists()


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def test_the_words_typed_into_the_later_chat_are_masked_there_once_linked(first: dict[str, Any]) -> None:
    other = first["other"]
    later = chat_with(other)
    words = first["issued"].words
    visitor_id = later.visitor_id
    typed = [
        f"My words are {words.title().replace(' ', ', ')}. Thank you",  # as a person types them
        full_width("My words: ") + "\u3000".join(full_width(w.upper()) for w in words.split()),
        "Nothing secret here",
    ]
    for n, text in enumerate(typed):
        message_send_visitor(visitor_id=visitor_id, client_msg_id=f"p{n}", text=text, conversation_id=later.pk)
    advisor_line = message_send_staff(
        actor=staff_actor(user_id=other.pk), conversation_id=later.pk, client_msg_id="s1", text=words, kind="text"
    ).message
    return_phrases.case_attach_by_phrase(user=other, conversation_id=later.pk, phrase=words, consent=True)

    texts = dict(
        Message.objects.filter(conversation=later, client_msg_id__in=["p0", "p1", "p2"]).values_list(
            "client_msg_id", "text"
        )
    )
    assert texts == {
        "p0": "My words are [return phrase removed]. Thank you",
        "p1": "[return phrase removed]",
        "p2": "Nothing secret here",
    }
    # Only the visitor's entries of this chat: an advisor's line is theirs to answer for.
    assert Message.objects.get(pk=advisor_line.pk).text == words
    attach = AuditEvent.objects.get(action="case.attach")
    masked = Message.objects.filter(client_msg_id__in=["p0", "p1"], conversation=later).values_list("seq", flat=True)
    assert attach.detail["masked_entries"] == sorted(masked)


def test_the_repeat_criterion_counts_an_incident_told_in_the_linked_chat(first: dict[str, Any]) -> None:
    advisor, other = first["advisor"], first["other"]
    case = first["case"]
    assessment = services.assessment_start(user=advisor, case_id=case.pk, conversation_id=first["conversation"].pk)
    referral = referrals.referral_draft(user=advisor, case_id=case.pk, assessment_id=assessment.pk)
    referrals.referral_transition(user=advisor, referral_id=referral.pk, to_state="submitted")
    later = chat_with(other)
    return_phrases.case_attach_by_phrase(
        user=other, conversation_id=later.pk, phrase=first["issued"].words, consent=True
    )
    services.incident_add(user=other, case_id=case.pk, occurred_on=timezone.localdate(), note="told in the new chat")
    now = timezone.now()
    referral.submitted_at = now - timedelta(days=30)
    referral.save(update_fields=["submitted_at"])
    fresh = services.assessment_start(user=other, case_id=case.pk, conversation_id=later.pk)
    _, result = services.assessment_answer(user=other, assessment_id=fresh.pk, answers={"c01": {"value": "no"}})
    assert "repeat" in [criterion["key"] for criterion in result.criteria]
    # Without the link the same chat starts from nothing: no case, no criterion.
    unlinked = chat_with(other)
    fresh_case = services.case_open(user=other, conversation_id=unlinked.pk)
    alone = services.assessment_start(user=other, case_id=fresh_case.pk, conversation_id=unlinked.pk)
    _, nothing = services.assessment_answer(user=other, assessment_id=alone.pk, answers={"c01": {"value": "no"}})
    assert nothing.criteria == []


def test_without_consent_nothing_is_linked_or_counted(first: dict[str, Any]) -> None:
    later = chat_with(first["other"])
    for consent in (False, None, "yes"):
        error = refused(
            "consent_required",
            return_phrases.case_attach_by_phrase,
            user=first["other"],
            conversation_id=later.pk,
            phrase=first["issued"].words,
            consent=consent,
        )
        assert error.field == "consent"
    assert not CaseConversation.objects.filter(conversation=later).exists()
    assert not ReturnPhraseUse.objects.exists() and not ReturnPhraseMiss.objects.exists()


def test_a_wrong_phrase_links_nothing_and_is_audited_without_its_words(first: dict[str, Any]) -> None:
    later = chat_with(first["other"])
    wrong = " ".join(w for w in return_phrases.words()[:4])
    assert wrong != first["issued"].words
    error = refused(
        "wrong_phrase",
        return_phrases.case_attach_by_phrase,
        user=first["other"],
        conversation_id=later.pk,
        phrase=wrong,
        consent=True,
    )
    assert error.field == "phrase"
    assert not CaseConversation.objects.filter(conversation=later).exists()
    assert ReturnPhraseMiss.objects.filter(actor=first["other"]).count() == 1
    event = AuditEvent.objects.get(action="return_phrase.refused")
    assert event.detail == {"attempt": "attach", "refusal": "wrong"} and event.case_id is None
    assert wrong not in stored_text()


def test_a_phrase_that_is_not_words_of_the_list_is_not_counted(first: dict[str, Any]) -> None:
    later = chat_with(first["other"])
    refused(
        "invalid",
        return_phrases.case_attach_by_phrase,
        user=first["other"],
        conversation_id=later.pk,
        phrase="my cat is called",
        consent=True,
    )
    assert not ReturnPhraseMiss.objects.exists()


def test_a_chat_already_in_a_case_or_not_ones_own_is_refused(first: dict[str, Any]) -> None:
    later = chat_with(first["other"])
    services.case_open(user=first["other"], conversation_id=later.pk)
    refused(
        "already_linked",
        return_phrases.case_attach_by_phrase,
        user=first["other"],
        conversation_id=later.pk,
        phrase=first["issued"].words,
        consent=True,
    )
    # A chat this advisor is not in: not found, and nothing learnt about the phrase.
    someone_elses = chat_with(first["advisor"])
    refused(
        "not_found",
        return_phrases.case_attach_by_phrase,
        user=first["other"],
        conversation_id=someone_elses.pk,
        phrase=first["issued"].words,
        consent=True,
    )
    assert not ReturnPhraseUse.objects.exists()


# --- Revoking -------------------------------------------------------------------------------------


def test_a_revoked_phrase_links_nothing(first: dict[str, Any]) -> None:
    phrase = first["issued"].phrase
    refused("not_found", return_phrases.return_phrase_revoke, user=first["other"], phrase_id=phrase.pk)
    refused("not_found", return_phrases.return_phrase_revoke, user=first["advisor"], phrase_id="12; drop")
    refused("not_found", return_phrases.return_phrase_revoke, user=first["advisor"], phrase_id=phrase.pk + 1000)
    assert ReturnPhrase.objects.get().active
    return_phrases.return_phrase_revoke(user=first["advisor"], phrase_id=phrase.pk)
    refused("invalid_state", return_phrases.return_phrase_revoke, user=first["advisor"], phrase_id=phrase.pk)
    assert AuditEvent.objects.filter(action="return_phrase.revoke").count() == 1
    later = chat_with(first["other"])
    refused(
        "wrong_phrase",
        return_phrases.case_attach_by_phrase,
        user=first["other"],
        conversation_id=later.pk,
        phrase=first["issued"].words,
        consent=True,
    )


# --- Throttling -----------------------------------------------------------------------------------


def wrong_try(user: Any, conversation: Any, code: str = "wrong_phrase") -> services.RiskError:
    return refused(
        code,
        return_phrases.case_attach_by_phrase,
        user=user,
        conversation_id=conversation.pk,
        phrase="acorn acorn acorn acorn",
        consent=True,
    )


def throttled(error: services.RiskError) -> return_phrases.PhraseThrottled:
    assert isinstance(error, return_phrases.PhraseThrottled)
    return error


def age_misses(seconds: float) -> None:
    for miss in ReturnPhraseMiss.objects.all():
        ReturnPhraseMiss.objects.filter(pk=miss.pk).update(at=miss.at - timedelta(seconds=seconds))


def test_wrong_tries_slow_down_then_lock_one_person_out(first: dict[str, Any], settings: Any) -> None:
    settings.RISK = {**settings.RISK, "RETURN_PHRASE_SLOW_AFTER": 2, "RETURN_PHRASE_LOCK_AFTER": 4}
    other, later = first["other"], chat_with(first["other"])
    wrong_try(other, later)
    wrong_try(other, later)
    # Two wrong: the next try waits 5 s (doubling for each further wrong one), even with the right words.
    error = refused(
        "slow_down",
        return_phrases.case_attach_by_phrase,
        user=other,
        conversation_id=later.pk,
        phrase=first["issued"].words,
        consent=True,
    )
    assert isinstance(error, return_phrases.PhraseThrottled) and 1 <= error.retry_after <= 5
    age_misses(6)
    wrong_try(other, later)
    assert throttled(wrong_try(other, later, "slow_down")).retry_after > 5
    age_misses(11)
    wrong_try(other, later)
    # Four wrong in the window: refused until the oldest leaves it (15 minutes).
    locked = throttled(wrong_try(other, later, "too_many_tries"))
    assert 14 * 60 < locked.retry_after <= 15 * 60
    # Someone else is not held up by it.
    return_phrases.case_attach_by_phrase(
        user=first["advisor"],
        conversation_id=chat_with(first["advisor"]).pk,
        phrase=first["issued"].words,
        consent=True,
    )
    assert ReturnPhraseMiss.objects.filter(actor=other).count() == 4
    refusals = AuditEvent.objects.filter(action="return_phrase.refused", actor=other)
    assert refusals.filter(detail__refusal="throttled").count() == 3
    assert refusals.filter(detail__refusal="wrong").count() == 4
    # When the window moves on, the person may try again, and old misses are cleared.
    age_misses(15 * 60)
    linked = return_phrases.case_attach_by_phrase(
        user=other, conversation_id=later.pk, phrase=first["issued"].words, consent=True
    )
    assert linked == first["case"] and not ReturnPhraseMiss.objects.exists()


def test_many_wrong_tries_by_everyone_pause_linking_for_all(first: dict[str, Any], settings: Any) -> None:
    settings.RISK = {**settings.RISK, "RETURN_PHRASE_GLOBAL_LOCK_AFTER": 3}
    advisors = [factories.staff() for _ in range(3)]
    for advisor in advisors:
        wrong_try(advisor, chat_with(advisor))
    later = chat_with(first["other"])
    error = refused(
        "too_many_tries",
        return_phrases.case_attach_by_phrase,
        user=first["other"],
        conversation_id=later.pk,
        phrase=first["issued"].words,
        consent=True,
    )
    assert "paused" in error.message
    assert not CaseConversation.objects.filter(conversation=later).exists()


def test_the_guard_counts_a_try_before_the_hash_is_checked(first: dict[str, Any]) -> None:
    admitted = return_phrase_guard.try_admit(user=first["other"])
    assert isinstance(admitted, int) and ReturnPhraseMiss.objects.filter(pk=admitted).exists()
    return_phrase_guard.forgive(miss_id=admitted)
    assert not ReturnPhraseMiss.objects.exists()


# --- Erasure --------------------------------------------------------------------------------------


def test_erasing_the_case_erases_its_phrases_and_their_uses(first: dict[str, Any]) -> None:
    later = chat_with(first["other"])
    return_phrases.case_attach_by_phrase(
        user=first["other"], conversation_id=later.pk, phrase=first["issued"].words, consent=True
    )
    end_chat(first["advisor"], first["conversation"])
    end_chat(first["other"], later)
    retention.case_erase(
        user=first["supervisor"],
        case_id=first["case"].pk,
        reason="Data subject request DSR-9",
        confirm_reference=first["case"].reference,
    )
    assert not CaseRecord.objects.exists()
    assert not ReturnPhrase.objects.exists() and not ReturnPhraseUse.objects.exists()


# --- The API and the case page ----------------------------------------------------------------------


def post(client: Any, url: str, body: Any) -> Any:
    return client.post(url, body if isinstance(body, bytes) else json.dumps(body), content_type="application/json")


def test_the_api_offers_shows_and_revokes_a_phrase(first: dict[str, Any]) -> None:
    client = signed_in(first["advisor"])
    case = first["case"]
    url = f"/risk/api/cases/{case.pk}/return-phrase/"
    state = client.get(url)
    assert state.status_code == 200 and state.json()["active"]["id"] == first["issued"].phrase.pk
    assert first["issued"].words not in state.content.decode()
    offered = post(client, url, {"conversation_id": str(first["conversation"].pk)})
    assert offered.status_code == 201 and "no-store" in offered["Cache-Control"]
    words = offered.json()["phrase"]
    assert len(words.split()) == 4 and words != first["issued"].words
    assert words not in client.get(url).content.decode()
    phrase_id = offered.json()["active"]["id"]
    revoked = post(client, f"/risk/api/return-phrases/{phrase_id}/revoke/", {})
    assert revoked.status_code == 200 and revoked.json()["revoked"]["active"] is False
    assert client.get(url).json() == {"active": None}
    again = post(client, f"/risk/api/return-phrases/{phrase_id}/revoke/", {})
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_state"
    # Someone who does not hold the case finds nothing.
    stranger = signed_in(first["other"])
    assert stranger.get(url).status_code == 404
    assert post(stranger, url, {}).status_code == 404
    assert post(stranger, f"/risk/api/return-phrases/{first['issued'].phrase.pk}/revoke/", {}).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", None),
        ({"phrase": "acorn acorn acorn acorn"}, "consent"),
        ({"phrase": "acorn acorn acorn acorn", "consent": "true"}, "consent"),
        ({"phrase": "acorn acorn acorn acorn", "consent": True, "remember": True}, "remember"),
        ({"phrase": "a" * 201, "consent": True}, "phrase"),
        ({"phrase": "", "consent": True}, "phrase"),
        ({"phrase": "acorn acorn acorn acorn", "consent": True, "version": "no such"}, "version"),
    ],
)
def test_the_link_api_refuses_bad_bodies_and_saves_nothing(first: dict[str, Any], body: Any, field: str) -> None:
    later = chat_with(first["other"])
    response = post(signed_in(first["other"]), f"/risk/api/conversations/{later.pk}/return-phrase/", body)
    assert response.status_code == 400, response.content
    assert response.json()["error"].get("field") == field
    assert not CaseConversation.objects.filter(conversation=later).exists()
    assert not ReturnPhraseMiss.objects.exists()


def test_the_link_api_links_with_consent_and_says_when_to_try_again(first: dict[str, Any], settings: Any) -> None:
    settings.RISK = {**settings.RISK, "RETURN_PHRASE_SLOW_AFTER": 1}
    client = signed_in(first["other"])
    later = chat_with(first["other"])
    url = f"/risk/api/conversations/{later.pk}/return-phrase/"
    no_consent = post(client, url, {"phrase": first["issued"].words, "consent": False})
    assert no_consent.status_code == 400 and no_consent.json()["error"]["code"] == "consent_required"
    wrong = post(client, url, {"phrase": "acorn acorn acorn acorn", "consent": True})
    assert wrong.status_code == 400 and wrong.json()["error"] == {
        "code": "wrong_phrase",
        "message": return_phrases.WRONG,
        "field": "phrase",
    }
    slowed = post(client, url, {"phrase": first["issued"].words, "consent": True})
    assert slowed.status_code == 429 and slowed.json()["error"]["code"] == "slow_down"
    assert 1 <= int(slowed["Retry-After"]) <= 5
    age_misses(6)
    linked = post(client, url, {"phrase": first["issued"].words, "consent": True})
    assert linked.status_code == 201, linked.content
    state = linked.json()
    assert state["case"]["reference"] == first["case"].reference and state["linked_by_phrase"] is True
    assert state["assessment"]["id"] and first["issued"].words not in linked.content.decode()


def test_the_case_page_lists_phrases_and_revokes_one(first: dict[str, Any]) -> None:
    client = signed_in(first["advisor"])
    page = client.get(f"/risk/cases/{first['case'].pk}/")
    html = page.content.decode()
    assert "Return phrases" in html and "Live" in html and first["issued"].words not in html
    phrase = first["issued"].phrase
    revoke = f"/risk/return-phrases/{phrase.pk}/revoke/"
    assert client.get(revoke).status_code == 405
    assert signed_in(first["other"]).post(revoke).status_code == 404
    done = client.post(revoke, follow=True)
    assert done.redirect_chain[-1][0] == f"/risk/cases/{first['case'].pk}/"
    assert "The return phrase is revoked" in done.content.decode()
    assert "Revoked" in done.content.decode()
    twice = client.post(revoke, follow=True)
    assert "This return phrase was already revoked." in twice.content.decode()
    assert client.post("/risk/return-phrases/99999/revoke/").status_code == 404


def test_production_refuses_to_start_without_a_phrase_key(tmp_path: Any) -> None:
    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "RISK_RETURN_PHRASE_KEY")}
    env.update(
        {
            "DJANGO_PRODUCTION": "1",
            "DJANGO_SECRET_KEY": "x" * 60,
            "DJANGO_ALLOWED_HOSTS": "chat.example.org",
            "SIGNING_KEY_DIR": str(tmp_path),
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "RISK_RETURN_PHRASE_KEY must be set in production" in result.stderr
