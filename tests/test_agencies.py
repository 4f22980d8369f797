"""The directory decides where a referral goes: the area the case names, else the area serving
the region the visitor chose; a referral of each kind is addressed to that area's agency."""

import json

import pytest

from chat.models import Conversation
from risk import agencies, referrals, services
from risk.models import Agency, Referral
from tests import factories
from tests.factories.risk import case_with_chat, directory

pytestmark = pytest.mark.django_db


@pytest.fixture
def advisor():
    factories.queues()
    return factories.staff()


def test_the_region_the_visitor_chose_decides_the_area(advisor):
    cardiff = directory("Cardiff", ("south-wales",))
    directory("Leeds", ("west-yorkshire",))
    case = case_with_chat(advisor)
    Conversation.objects.filter(case_links__case=case).update(region="south-wales")

    assert agencies.area_for_case(case) == cardiff["marac"].area
    for kind in Agency.Kind.values:
        assert agencies.destination(case, kind) == cardiff[kind]


def test_an_area_named_on_the_case_wins_over_the_region(advisor):
    directory("Cardiff", ("south-wales",))
    leeds = directory("Leeds", ("west-yorkshire",))
    case = case_with_chat(advisor, area="leeds")
    Conversation.objects.filter(case_links__case=case).update(region="south-wales")

    assert agencies.destination(case, "idva") == leeds["idva"]


def test_no_destination_without_an_area_or_an_active_agency(advisor):
    cardiff = directory("Cardiff", ("south-wales",))
    case = case_with_chat(advisor)
    assert agencies.area_for_case(case) is None  # the chat has no region
    Conversation.objects.filter(case_links__case=case).update(region="south-wales")
    cardiff["mash"].active = False
    cardiff["mash"].save()
    assert agencies.destination(case, "mash") is None
    assert agencies.destination(case, "marac") == cardiff["marac"]


def test_a_referral_of_each_kind_is_addressed_to_its_agency(advisor):
    cardiff = directory("Cardiff", ("south-wales",))
    case = case_with_chat(advisor)
    Conversation.objects.filter(case_links__case=case).update(region="south-wales")
    for kind in Agency.Kind.values:
        referral = referrals.referral_draft(user=advisor, case_id=case.pk, kind=kind)
        assert (referral.kind, referral.agency, referral.area) == (kind, cardiff[kind], "Cardiff")


def test_an_unknown_kind_is_refused_and_nothing_is_drafted(advisor):
    case = case_with_chat(advisor)
    with pytest.raises(services.RiskError):
        referrals.referral_draft(user=advisor, case_id=case.pk, kind="housing")
    client = factories.signed_in(advisor)
    response = client.post(
        f"/risk/api/cases/{case.pk}/referrals/", json.dumps({"kind": "housing"}), content_type="application/json"
    )
    assert response.status_code == 400
    assert Referral.objects.count() == 0
    response = client.post(
        f"/risk/api/cases/{case.pk}/referrals/", json.dumps({"kind": "idva"}), content_type="application/json"
    )
    assert response.status_code == 201
    assert Referral.objects.get().kind == "idva"
