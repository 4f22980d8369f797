"""Who may do what to a referral is said once: the moves `referral_moves` gives are exactly the
transitions `referral_transition` lets through, for every state and every kind of person, and the
referral page offers exactly those (and its form exactly when `referral_update` would take it)."""

import re
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from risk import referrals, services
from risk.models import Referral
from tests import factories
from tests.test_risk_access import signed_in
from tests.test_risk_cases import chat_with

pytestmark = pytest.mark.django_db

STATES = [state for state, _label in Referral.State.choices]


class Undo(Exception):
    """Rolls an attempt back, so every one starts from the same referral."""


def attempt(user: Any, referral: Referral, to_state: str) -> str:
    try:
        with transaction.atomic():
            referrals.referral_transition(
                user=user,
                referral_id=referral.pk,
                to_state=to_state,
                reason="Because",
                meeting_on=timezone.localdate(),
            )
            raise Undo
    except Undo:
        return "done"
    except services.RiskError as refused:
        return refused.code


def edit(user: Any, referral: Referral) -> str:
    try:
        with transaction.atomic():
            referrals.referral_update(user=user, referral_id=referral.pk, area="Swansea")
            raise Undo
    except Undo:
        return "done"
    except services.RiskError as refused:
        return refused.code


@pytest.fixture
def people() -> dict[str, Any]:
    factories.queues()
    owner, sharer, supervisor = factories.staff(), factories.staff(), factories.staff(role="supervisor")
    case = services.case_open(user=owner, conversation_id=chat_with(owner).pk)
    services.case_share(user=owner, case_id=case.pk, with_user_id=sharer.pk)
    referral = referrals.referral_draft(user=owner, case_id=case.pk)
    return {"referral": referral, "users": {"owner": owner, "sharer": sharer, "supervisor": supervisor}}


@pytest.mark.parametrize("state", STATES)
def test_the_moves_offered_are_the_transitions_allowed(people: dict[str, Any], state: str) -> None:
    Referral.objects.filter(pk=people["referral"].pk).update(state=state)
    referral = Referral.objects.get(pk=people["referral"].pk)
    for who, user in people["users"].items():
        moves = referrals.referral_moves(user=user, referral=referral)
        outcomes = {to_state: attempt(user, referral, to_state) for to_state in STATES}
        assert {s for s, outcome in outcomes.items() if outcome == "done"} == set(moves), (who, state, outcomes)
        assert set(outcomes.values()) <= {"done", "invalid_state", "forbidden"}, (who, state, outcomes)
        editable = referrals.referral_editable(user=user, referral=referral)
        assert (edit(user, referral) == "done") is editable, (who, state)
        page = signed_in(user).get(f"/risk/referrals/{referral.pk}/").content.decode()
        assert re.findall(r'<button type="submit" name="action" value="(\w+)"', page) == moves, (who, state)
        assert ('<button type="submit">Save</button>' in page) is editable, (who, state)


def test_the_rules_by_person(people: dict[str, Any]) -> None:
    referral, users = people["referral"], people["users"]
    assert referrals.referral_moves(user=users["owner"], referral=referral) == ["submitted", "withdrawn"]
    assert referrals.referral_moves(user=users["sharer"], referral=referral) == []
    assert referrals.referral_moves(user=users["supervisor"], referral=referral) == ["submitted", "withdrawn"]
    Referral.objects.filter(pk=referral.pk).update(state=Referral.State.SUBMITTED)
    referral.refresh_from_db()
    assert referrals.referral_moves(user=users["owner"], referral=referral) == ["withdrawn"]
    assert referrals.referral_moves(user=users["supervisor"], referral=referral) == [
        "under_review",
        "returned",
        "withdrawn",
    ]
    assert referrals.referral_editable(user=users["owner"], referral=referral) is False
