"""The same person harming several victims: the perpetrators a referral's form names are kept as
keyed hashes of their normalised name (and aliases) with the date of birth, refreshed whenever
the form is saved; supervisors see possible links in the queue, on the referral page and by
searching; an advisor sees a link only when they hold both cases; every lookup is audited
without the name; an erased case takes its keys with it."""

from datetime import date
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from agents.audit_models import AuditEvent
from chat.models import Conversation
from risk import perpetrators, referrals, retention, services
from risk.models import Referral
from risk.outcome_models import PerpetratorKey
from risk.services import NotFound, RiskError
from tests.factories import signed_in
from tests.factories.risk import case_with_chat

pytestmark = pytest.mark.django_db

NAME = "José O'Brien-Smith"


def referral_naming(user: Any, *people: dict[str, str | None], case: Any = None) -> Referral:
    case = case or case_with_chat(user)
    referral = referrals.referral_draft(user=user, case_id=case.pk)
    return referrals.referral_update(user=user, referral_id=referral.pk, form={"perpetrators": list(people)})


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("José O'Brien-Smith", "jose obrien smith"),
        ("  JOSÉ\tO\u2019Brien   Smith ", "Smith Jose OBrien"),
        ("Zoë Straße", "ZOE STRASSE"),
        ("Łukasz Nowak", "łukasz  nowak"),
    ],
)
def test_names_are_normalised(one: str, other: str) -> None:
    assert perpetrators.normalise_name(one) == perpetrators.normalise_name(other) != ""


def test_different_names_and_dates_differ() -> None:
    assert perpetrators.normalise_name("Jon Smith") != perpetrators.normalise_name("John Smith")
    born = date(1980, 3, 2)
    assert perpetrators.match_key("john smith", born) != perpetrators.match_key("john smith", date(1980, 2, 3))
    assert perpetrators.match_key("john smith", born) != perpetrators.match_key("jon smith", born)
    # The key is the server's: another key gives other hashes for the same person.
    derived = perpetrators.match_key("john smith", born)
    with override_settings(RISK={**perpetrators.settings.RISK, "PERPETRATOR_KEY": "another key"}):
        assert perpetrators.match_key("john smith", born) != derived


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1980-03-02", date(1980, 3, 2)),
        ("02/03/1980", date(1980, 3, 2)),
        ("2.3.1980", date(1980, 3, 2)),
        ("2 March 1980", date(1980, 3, 2)),
        ("not known", None),
        ("1980", None),
        ("31/02/1980", None),
        ("2999-01-01", None),
    ],
)
def test_dates_of_birth_as_staff_type_them(text: str, expected: date | None) -> None:
    assert perpetrators.normalise_date(text) == expected


def test_keys_follow_the_form_and_hold_no_name(people: dict[str, Any]) -> None:
    advisor = people["advisor"]
    referral = referral_naming(
        advisor, {"name": NAME, "aliases": "Joe Smith, J. Brien aka Jay", "date_of_birth": "02/03/1980"}
    )
    keys = PerpetratorKey.objects.filter(referral=referral)
    assert keys.count() == 4  # the name and three aliases
    assert sorted(keys.values_list("alias", flat=True)) == [False, True, True, True]
    for key in keys.values_list("key", flat=True):
        assert len(key) == 64 and "smith" not in key.lower()
    # No date of birth, no key: a name alone is too weak to link two cases.
    referrals.referral_update(user=advisor, referral_id=referral.pk, form={"perpetrators": [{"name": NAME}]})
    assert not PerpetratorKey.objects.filter(referral=referral).exists()
    # Saving without touching the form keeps them as they are.
    referrals.referral_update(
        user=advisor, referral_id=referral.pk, form={"perpetrators": [{"name": NAME, "date_of_birth": "1980-03-02"}]}
    )
    referrals.referral_update(user=advisor, referral_id=referral.pk, urgent=True)
    assert PerpetratorKey.objects.filter(referral=referral).count() == 1


def test_links_are_shown_to_supervisors_and_to_advisors_holding_both_cases(people: dict[str, Any]) -> None:
    advisor, other, supervisor = people["advisor"], people["other"], people["supervisor"]
    mine = referral_naming(advisor, {"name": NAME, "date_of_birth": "1980-03-02"})
    theirs = referral_naming(other, {"name": "Jay", "aliases": "jose obrien smith", "date_of_birth": "2/3/1980"})
    unrelated = referral_naming(other, {"name": NAME, "date_of_birth": "1981-03-02"})
    # A second referral of the same case is not a link to another case.
    referral_naming(advisor, {"name": NAME, "date_of_birth": "1980-03-02"}, case=mine.case)

    assert perpetrators.perpetrator_links(user=supervisor, referral=mine) == [theirs]
    assert perpetrators.perpetrator_links(user=advisor, referral=mine) == []
    assert perpetrators.perpetrator_links(user=supervisor, referral=unrelated) == []
    page = signed_in(advisor).get(f"/risk/referrals/{mine.pk}/").content.decode()
    assert "Possible links" not in page and theirs.reference not in page
    page = signed_in(supervisor).get(f"/risk/referrals/{mine.pk}/").content.decode()
    assert "Possible links" in page and theirs.reference in page

    services.case_share(user=other, case_id=theirs.case_id, with_user_id=advisor.pk)
    assert perpetrators.perpetrator_links(user=advisor, referral=mine) == [theirs]
    page = signed_in(advisor).get(f"/risk/referrals/{mine.pk}/").content.decode()
    assert "Possible links" in page and theirs.reference in page

    events = AuditEvent.objects.filter(action="perpetrator.links", referral_id=mine.pk)
    assert events.filter(actor=advisor, detail__matches=0).exists()
    assert events.filter(actor=supervisor, detail__linked_referrals=[str(theirs.pk)]).exists()


def test_the_queue_flags_possible_links(people: dict[str, Any]) -> None:
    advisor, other, supervisor = people["advisor"], people["other"], people["supervisor"]
    mine = referral_naming(advisor, {"name": NAME, "date_of_birth": "1980-03-02"})
    theirs = referral_naming(other, {"name": NAME.upper(), "date_of_birth": "1980-03-02"})
    alone = referral_naming(other, {"name": "Someone Else", "date_of_birth": "1980-03-02"})
    for referral, user in ((mine, advisor), (theirs, other), (alone, other)):
        referrals.referral_transition(user=user, referral_id=referral.pk, to_state="submitted")
    assert perpetrators.possible_link_ids([mine.pk, theirs.pk, alone.pk]) == {mine.pk, theirs.pk}
    page = signed_in(supervisor).get("/risk/referrals/").content.decode()
    assert page.count("Possible link") == 2
    rows = {line.split("</a>")[0].rsplit(">", 1)[-1]: line for line in page.split("<tr") if "/risk/referrals/" in line}
    assert "Possible link" in rows[mine.reference] and "Possible link" not in rows[alone.reference]


def test_only_supervisors_search_and_every_search_is_audited_without_the_name(people: dict[str, Any]) -> None:
    advisor, other, supervisor = people["advisor"], people["other"], people["supervisor"]
    mine = referral_naming(advisor, {"name": NAME, "date_of_birth": "1980-03-02"})
    theirs = referral_naming(other, {"name": "X", "aliases": "Jose OBrien Smith", "date_of_birth": "1980-03-02"})

    found = perpetrators.perpetrator_search(user=supervisor, name="obrien-smith, josé", date_of_birth="02/03/1980")
    assert set(found) == {mine, theirs}
    event = AuditEvent.objects.filter(action="perpetrator.search").get()
    assert event.actor_id == supervisor.pk and event.detail["matches"] == 2
    assert "brien" not in repr(event.detail).lower() and "1980" not in repr(event.detail)
    assert perpetrators.perpetrator_search(user=supervisor, name=NAME, date_of_birth="1980-03-03") == []

    with pytest.raises(NotFound):
        perpetrators.perpetrator_search(user=advisor, name=NAME, date_of_birth="1980-03-02")
    assert AuditEvent.objects.filter(action="perpetrator.refused", actor=advisor).exists()
    for name, born, field in (
        ("", "1980-03-02", "name"),
        ("  ,. ", "1980-03-02", "name"),
        ("x" * 151, "1980-03-02", "name"),
        (NAME, "", "date_of_birth"),
        (NAME, "yesterday", "date_of_birth"),
    ):
        with pytest.raises(RiskError) as error:
            perpetrators.perpetrator_search(user=supervisor, name=name, date_of_birth=born)
        assert error.value.field == field
    assert AuditEvent.objects.filter(action="perpetrator.search").count() == 2


def test_the_search_page(people: dict[str, Any]) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    mine = referral_naming(advisor, {"name": NAME, "date_of_birth": "1980-03-02"})
    client = signed_in(supervisor)
    assert "Perpetrator search" in client.get("/risk/perpetrators/").content.decode()
    response = client.post("/risk/perpetrators/", {"name": "jose obrien smith", "date_of_birth": "1980-03-02"})
    assert response.status_code == 200 and mine.reference in response.content.decode()
    response = client.post("/risk/perpetrators/", {"name": "jose obrien smith", "date_of_birth": "someday"})
    assert response.status_code == 400 and 'role="alert"' in response.content.decode()
    assert signed_in(advisor).get("/risk/perpetrators/").status_code == 403
    assert (
        signed_in(advisor).post("/risk/perpetrators/", {"name": NAME, "date_of_birth": "1980-03-02"}).status_code == 403
    )


def test_keys_are_rebuilt_under_a_new_key_and_erased_with_the_case(people: dict[str, Any]) -> None:
    advisor, other, supervisor = people["advisor"], people["other"], people["supervisor"]
    mine = referral_naming(advisor, {"name": NAME, "date_of_birth": "1980-03-02"})
    theirs = referral_naming(other, {"name": NAME, "date_of_birth": "1980-03-02"})
    before = set(PerpetratorKey.objects.values_list("key", flat=True))
    with override_settings(RISK={**perpetrators.settings.RISK, "PERPETRATOR_KEY": "a new key from the operator"}):
        out = StringIO()
        call_command("perpetrator_keys_rebuild", stdout=out)
        assert out.getvalue().strip() == "2 perpetrator keys"
        after = set(PerpetratorKey.objects.values_list("key", flat=True))
        assert len(after) == 1 and after.isdisjoint(before)
        assert perpetrators.perpetrator_links(user=supervisor, referral=mine) == [theirs]

    Conversation.objects.filter(case_links__case=mine.case).update(state="closed", closed_at=timezone.now())
    retention.case_erase(
        user=supervisor, case_id=mine.case_id, reason="The person asked", confirm_reference=mine.case.reference
    )
    assert list(PerpetratorKey.objects.values_list("referral_id", flat=True)) == [theirs.pk]


def test_a_refused_queue_filter_claims_nothing_about_actions(people: dict[str, Any]) -> None:
    response = signed_in(people["supervisor"]).get("/risk/referrals/", {"repeat": "perhaps"})
    assert response.status_code == 400 and "Overdue MARAC actions" not in response.content.decode()
