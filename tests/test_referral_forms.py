"""Each kind of referral has its own form as versioned data: the shipped defaults are seeded and
valid, an area's own published form wins over the default, a referral keeps the version it was
drafted on, published versions never change, and the page lays out, prefills and checks each
kind's fields. Each kind moves through its own states with its own review due time; a police
report needs the victim's consent and a sealed transcript attached."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.test import override_settings
from django.utils import timezone

from agents.audit_models import AuditEvent, ImmutableError
from chat.models import Conversation
from risk import form_versions, referrals, reports, retention, services, snapshots
from risk.form_models import ReferralFormVersion
from risk.models import Referral, TranscriptSnapshot
from tests import factories
from tests.factories import signed_in
from tests.factories.risk import directory

pytestmark = pytest.mark.django_db

KINDS = ("marac", "idva", "mash", "police")
ADMIN = "/admin/risk/referralformversion/"


@pytest.fixture
def world() -> dict[str, Any]:
    factories.queues()
    advisor = factories.staff()
    case = factories.case_with_chat(advisor)
    Conversation.objects.filter(case_links__case=case).update(region="south-wales")
    return {
        "advisor": advisor,
        "other": factories.staff(),
        "supervisor": factories.staff(role="supervisor", is_staff_user=True),
        "case": case,
        "assessment": factories.assessment_answered(advisor, case),
        "agencies": directory("Cardiff", ("south-wales",)),
    }


def draft(world: dict[str, Any], kind: str) -> Referral:
    return referrals.referral_draft(user=world["advisor"], case_id=world["case"].pk, kind=kind)


def move(user: Any, referral: Referral, *states: str) -> Referral:
    for state in states:
        referral = referrals.referral_transition(
            user=user, referral_id=referral.pk, to_state=state, reason="Because", meeting_on=timezone.localdate()
        )
    return referral


def refused(code: str, call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(services.RiskError) as error:
        call(*args, **kwargs)
    assert error.value.code == code, error.value.message
    return error.value.message


def test_the_shipped_forms_are_valid_and_seeded_as_published_defaults() -> None:
    for kind in KINDS:
        assert form_versions.validate(form_versions.shipped(kind), kind) == []
        seeded = ReferralFormVersion.objects.get(kind=kind, area=None, version="2026.1")
        assert seeded.state == "published" and seeded.definition == form_versions.shipped(kind)
        assert form_versions.current_version(kind, None) == seeded
    assert form_versions.validate(form_versions.shipped("idva"), "police") == ["The definition's kind must be police."]
    broken = form_versions.shipped("police")
    broken["sections"][0]["fields"].append({"key": "agency", "label": "Again"})
    broken["submit_requires"][0]["field"] = "consent.nothing"
    broken["transcript"] = "sometimes"
    problems = form_versions.validate(broken, "police")
    assert "Section referrer: the key agency is used twice." in problems
    assert any("submit_requires" in p for p in problems) and any("transcript is one of" in p for p in problems)


def test_each_kind_is_drafted_on_its_own_form_prefilled_from_the_case(world: dict[str, Any]) -> None:
    for kind in KINDS:
        referral = draft(world, kind)
        shape = form_versions.shipped(kind)
        assert referral.form_version == ReferralFormVersion.objects.get(kind=kind, area=None)
        for section in shape["sections"]:
            assert set(referral.form[section["key"]]) >= {f["key"] for f in section["fields"]}
        assert ("criteria" in referral.form) == (kind in ("marac", "idva"))
        assert referral.agency == world["agencies"][kind]
    mash = Referral.objects.get(kind="mash")
    assert mash.form["children"]["children_hurt"] == "yes"  # from the checklist's children's block
    assert mash.form["risk_summary"]["checklist_details"] and "criteria" not in mash.form
    police = Referral.objects.get(kind="police")
    assert police.form["incident"] == dict.fromkeys(
        ("occurred_on", "location", "description", "injuries", "weapons", "crime_reference")
    )
    assert "children" not in police.form and "household" not in police.form

    page = " ".join(signed_in(world["advisor"]).get(f"/risk/referrals/{police.pk}/").content.decode().split())
    assert "<h1>Police report " in page and "To Cardiff Police force (Cardiff)" in page
    assert '<input type="date" id="f-incident.occurred_on"' in page
    assert "<legend>Consent</legend>" in page and "none attached yet (required)" in page
    assert "Visible high risk" not in page and "<legend>Perpetrator 2</legend>" in page
    page = signed_in(world["advisor"]).get(f"/risk/referrals/{mash.pk}/").content.decode()
    assert "Children&#x27;s safeguarding (MASH) referral" in page and "Child or other person in the household 6" in page


def test_an_area_s_own_published_form_wins_and_referrals_keep_their_version(world: dict[str, Any]) -> None:
    area = world["agencies"]["idva"].area
    definition = form_versions.shipped("idva")
    definition["title"] = "Cardiff IDVA referral"
    definition["sections"][2]["fields"].append({"key": "court_date", "label": "Next court date", "type": "date"})
    own = ReferralFormVersion.objects.create(kind="idva", area=area, version="CDF-1", definition=definition)
    before = draft(world, "idva")  # the area's form is a draft: the default is used
    assert before.form_version == form_versions.current_version("idva", None)

    refused("forbidden", form_versions.form_version_publish, version_id=own.pk, actor=world["advisor"])
    form_versions.form_version_publish(version_id=own.pk, actor=world["supervisor"])
    after = draft(world, "idva")
    assert after.form_version == own and after.form["risk_summary"]["court_date"] is None
    referrals.referral_update(
        user=world["advisor"], referral_id=after.pk, form={"risk_summary": {"court_date": "2027-01-04"}}
    )
    refused(
        "invalid",
        referrals.referral_update,
        user=world["advisor"],
        referral_id=before.pk,
        form={"risk_summary": {"court_date": "2027-01-04"}},
    )
    assert "Cardiff IDVA referral" in signed_in(world["advisor"]).get(f"/risk/referrals/{after.pk}/").content.decode()
    # Another area still gets the default; the earlier referral keeps its version.
    elsewhere = factories.case_with_chat(world["advisor"], area="Leeds")
    directory("Leeds", ("west-yorkshire",))
    other = referrals.referral_draft(user=world["advisor"], case_id=elsewhere.pk, kind="idva")
    default = form_versions.current_version("idva", None)
    assert default is not None and default.area is None
    assert other.form_version == default and Referral.objects.get(pk=before.pk).form_version == default

    # Published: never changed, never deleted; a copy is a new draft, logged.
    own.notes = "changed"
    with pytest.raises(ImmutableError):
        own.save()
    with pytest.raises(ImmutableError):
        ReferralFormVersion.objects.filter(pk=own.pk).delete()
    copy = form_versions.form_version_draft_copy(version_id=own.pk, actor=world["supervisor"])
    assert (copy.state, copy.area, copy.version, copy.based_on) == ("draft", area, "CDF-1-draft", own)
    assert LogEntry.objects.filter(object_id=str(own.pk), change_message__startswith="Published").exists()
    refused("invalid_state", form_versions.form_version_publish, version_id=own.pk, actor=world["supervisor"])
    copy.definition = {**definition, "kind": "police"}
    copy.save()
    refused("invalid", form_versions.form_version_publish, version_id=copy.pk, actor=world["supervisor"])


def test_bad_form_input_is_refused_and_nothing_is_saved(world: dict[str, Any]) -> None:
    referral = draft(world, "police")
    before = Referral.objects.get(pk=referral.pk).form
    advisor = world["advisor"]
    for patch, message in (
        ({"consent": {"consent_given": "maybe"}}, "consent.consent_given is yes, no or not known."),
        ({"incident": {"occurred_on": "last Tuesday"}}, "incident.occurred_on: give the date as YYYY-MM-DD."),
        ({"incident": {"description": "x" * 2001}}, "incident.description is text of at most 2000 characters."),
        ({"incident": {"description": 5}}, "incident.description is text of at most 2000 characters."),
        ({"incident": {"shoe_size": "5"}}, "Unknown field(s) ['shoe_size'] in incident."),
        ({"children": {"children_hurt": "yes"}}, "Unknown or malformed section 'children'."),
        ({"criteria": {"repeat": {"met": True}}}, "Unknown or malformed section 'criteria'."),
        ({"risk_summary": {"excerpts": []}}, "Unknown or malformed section 'risk_summary'."),
        ({"perpetrators": [{"name": "A"}] * 3}, "perpetrators takes at most 2 entries."),
        ({"perpetrators": [{"name": "A", "dob": "1"}]}, "Each entry in perpetrators takes only"),
    ):
        assert message in refused(
            "invalid", referrals.referral_update, user=advisor, referral_id=referral.pk, form=patch
        )
    client = signed_in(advisor)
    url = f"/risk/referrals/{referral.pk}/"
    response = client.post(url, {"action": "save", "incident.occurred_on": "2026-13-01", "victim.forenames": "A."})
    assert response.status_code == 400 and "give the date as YYYY-MM-DD" in response.content.decode()
    assert Referral.objects.get(pk=referral.pk).form == before
    saved = client.post(url, {"action": "save", "incident.occurred_on": "2026-12-01", "consent.consent_given": "yes"})
    assert saved.status_code == 302
    form = Referral.objects.get(pk=referral.pk).form
    assert form["incident"]["occurred_on"] == "2026-12-01" and form["consent"]["consent_given"] == "yes"


def test_a_police_report_needs_consent_and_a_sealed_transcript(world: dict[str, Any]) -> None:
    advisor, case = world["advisor"], world["case"]
    referral = draft(world, "police")
    assert referral.snapshot is None  # nothing sealed yet
    message = refused("incomplete", move, advisor, referral, "submitted")
    assert "only with the victim's consent" in message and "Attach a sealed transcript" in message

    conversation = case.conversation_links.get().conversation
    snapshot = snapshots.snapshot_make(user=advisor, case_id=case.pk, conversation_id=conversation.pk)
    stranger_case = factories.case_with_chat(world["other"])
    stranger = snapshots.snapshot_make(
        user=world["other"],
        case_id=stranger_case.pk,
        conversation_id=stranger_case.conversation_links.get().conversation_id,
    )
    client = signed_in(advisor)
    url = f"/risk/referrals/{referral.pk}/"
    assert client.post(url, {"action": "save", "snapshot": str(stranger.pk)}).status_code == 400
    assert client.post(url, {"action": "save", "snapshot": "not-a-uuid"}).status_code == 400
    assert Referral.objects.get(pk=referral.pk).snapshot is None
    page = client.get(url).content.decode()
    assert f'<option value="{snapshot.pk}"' in page and f'value="{stranger.pk}"' not in page
    assert client.post(url, {"action": "save", "snapshot": str(snapshot.pk)}).status_code == 302
    assert refused("incomplete", move, advisor, referral, "submitted") == (
        "A police report is made only with the victim's consent: record it first."
    )
    referrals.referral_update(
        user=advisor,
        referral_id=referral.pk,
        form={
            "consent": {"consent_given": "yes", "how_given": "In the chat, 7 Dec, after the risks were explained"},
            "incident": {"crime_reference": "SW-2026-114"},
        },
    )
    referral = move(advisor, referral, "submitted")
    assert referral.state == "submitted" and referral.snapshot == snapshot
    trail = list(AuditEvent.objects.filter(referral_id=referral.pk).values_list("action", "detail"))
    assert ("referral.transcript_attached", {"snapshot": str(snapshot.pk), "sha256": snapshot.sha256}) in trail
    assert [a for a, _ in trail].count("referral.consent_given") == 1
    page = client.get(url).content.decode()
    assert "Sealed transcript: attached" in page and snapshot.sha256[:14] in page
    assert 'value="SW-2026-114"' in page
    # A new police report starts with the case's latest sealed transcript; where a transcript is
    # optional, none is attached until the advisor chooses one.
    assert draft(world, "police").snapshot == snapshot
    assert draft(world, "idva").snapshot is None and draft(world, "marac").snapshot is None

    # Erasing the case takes its referrals and then their transcripts.
    Conversation.objects.filter(pk=conversation.pk).update(state=Conversation.State.CLOSED)
    supervisor = world["supervisor"]
    retention.case_erase(user=supervisor, case_id=case.pk, reason="Asked in writing", confirm_reference=case.reference)
    assert not Referral.objects.filter(case_id=case.pk).exists()
    assert not TranscriptSnapshot.objects.filter(case_id=case.pk).exists()


def test_each_kind_moves_through_its_own_states(world: dict[str, Any]) -> None:
    advisor, supervisor = world["advisor"], world["supervisor"]
    idva = draft(world, "idva")
    assert referrals.referral_moves(user=advisor, referral=idva) == ["submitted", "withdrawn"]
    move(advisor, idva, "submitted")
    idva = move(supervisor, idva, "under_review", "returned")
    idva = move(advisor, idva, "submitted")
    idva = move(supervisor, idva, "under_review", "accepted")
    assert referrals.referral_moves(user=supervisor, referral=idva) == ["sent", "withdrawn"]
    refused("invalid_state", move, supervisor, idva, "listed")
    idva = move(supervisor, idva, "sent", "closed")
    assert [t.to_state for t in idva.transitions.all()][-2:] == ["sent", "closed"]
    assert AuditEvent.objects.filter(referral_id=idva.pk, action="referral.sent").exists()

    marac = draft(world, "marac")
    marac = move(advisor, marac, "submitted")
    marac = move(supervisor, marac, "under_review", "accepted")
    assert referrals.referral_moves(user=supervisor, referral=marac) == ["listed", "withdrawn"]
    refused("invalid_state", move, supervisor, marac, "sent")
    marac = move(supervisor, marac, "listed", "heard", "closed")
    assert marac.state == "closed"
    # An advisor cannot send: only a supervisor.
    mash = move(advisor, draft(world, "mash"), "submitted")
    mash = move(supervisor, mash, "under_review", "accepted")
    refused("forbidden", move, advisor, mash, "sent")


@override_settings(RISK={**settings.RISK, "REFERRAL_DUE_WORKING_DAYS": {"marac": 2, "mash": 0}})
def test_each_kind_has_its_own_review_due_time(world: dict[str, Any]) -> None:
    friday = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    assert referrals.working_days_after(friday, 2).date().isoformat() == "2026-12-08"
    assert referrals.review_due_working_days("marac") == 2
    assert referrals.review_due_working_days("mash") == 0
    assert referrals.review_due_working_days("idva") == 2  # not set: the MARAC default
    before = timezone.now()
    mash = move(world["advisor"], draft(world, "mash"), "submitted")
    marac = move(world["advisor"], draft(world, "marac"), "submitted")
    assert mash.due_at is not None and before <= mash.due_at <= timezone.now()
    assert marac.submitted_at is not None
    assert marac.due_at == referrals.working_days_after(marac.submitted_at, 2)


def test_the_case_page_drafts_each_kind_and_names_its_agency(world: dict[str, Any]) -> None:
    advisor, case = world["advisor"], world["case"]
    world["agencies"]["mash"].active = False
    world["agencies"]["mash"].save()
    client = signed_in(advisor)
    url = f"/risk/cases/{case.pk}/"
    page = " ".join(client.get(url).content.decode().split())
    for label in ("Draft a MARAC referral", "Draft an IDVA referral", "Draft a police report"):
        assert f">{label}</button>" in page
    assert "Draft a children&#x27;s safeguarding (MASH) referral</button>" in page
    assert '<span class="hint" id="destination-idva">To Cardiff IDVA service (Cardiff)</span>' in page
    assert '<span class="hint" id="destination-mash">No agency for this area</span>' in page

    response = client.post(url, {"action": "referral", "kind": "idva"})
    referral = Referral.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/risk/referrals/{referral.pk}/"
    assert (referral.kind, referral.agency, referral.created_by) == ("idva", world["agencies"]["idva"], advisor)
    assert AuditEvent.objects.filter(referral_id=referral.pk, action="referral.draft").exists()
    assert "IDVA referral · Draft" in " ".join(client.get(url).content.decode().split())

    assert client.post(url, {"action": "referral", "kind": "housing"}).status_code == 400
    assert client.post(url, {"action": "referral"}).status_code == 400
    assert signed_in(world["other"]).post(url, {"action": "referral", "kind": "idva"}).status_code == 404
    assert Referral.objects.count() == 1


def test_the_queue_shows_and_filters_by_kind(world: dict[str, Any]) -> None:
    advisor = world["advisor"]
    for kind in ("marac", "idva", "police"):
        referral = draft(world, kind)
        if kind == "police":
            referral.snapshot = snapshots.snapshot_make(
                user=advisor,
                case_id=world["case"].pk,
                conversation_id=world["case"].conversation_links.get().conversation_id,
            )
            referral.form["consent"]["consent_given"] = "yes"
            referral.save()
        move(advisor, referral, "submitted")
    client = signed_in(world["supervisor"])
    page = " ".join(client.get("/risk/referrals/").content.decode().split())
    assert "<h1>Referral queue</h1>" in page
    assert page.count("<td>IDVA referral</td>") == 1 and page.count("<td>Police report</td>") == 1
    filtered = " ".join(client.get("/risk/referrals/?kind=idva").content.decode().split())
    assert "<td>IDVA referral</td>" in filtered and "<td>MARAC referral</td>" not in filtered
    assert '<option value="idva" selected>' in filtered
    bad = client.get("/risk/referrals/?kind=housing")
    assert bad.status_code == 400 and "Unknown kind" in bad.content.decode()
    assert [r.kind for r in referrals.referral_queue(user=world["supervisor"], kind="police")] == ["police"]


def test_the_admin_edits_checks_and_publishes_an_area_s_form(world: dict[str, Any]) -> None:
    client = signed_in(world["supervisor"])
    area = world["agencies"]["marac"].area
    added = client.get(f"{ADMIN}add/?kind=mash").content.decode()
    assert "Children&#x27;s safeguarding (MASH) referral" in added
    definition = form_versions.shipped("mash")
    data = {"kind": "mash", "area": area.pk, "version": "CDF-1", "notes": "", "definition": json.dumps(definition)}
    broken = client.post(f"{ADMIN}add/", {**data, "definition": json.dumps({**definition, "transcript": "maybe"})})
    assert broken.status_code == 200 and "transcript is one of none, optional, required." in broken.content.decode()
    assert not ReferralFormVersion.objects.filter(area=area).exists()
    assert client.post(f"{ADMIN}add/", data).status_code == 302
    version = ReferralFormVersion.objects.get(area=area)
    assert client.post(f"{ADMIN}add/", data).status_code == 200  # the same label twice is refused
    published = client.post(ADMIN, {"action": "publish", "_selected_action": [version.pk]}, follow=True)
    assert "is published" in published.content.decode()
    version.refresh_from_db()
    assert version.state == "published" and form_versions.current_version("mash", area) == version
    page = client.get(f"{ADMIN}{version.pk}/change/").content.decode()
    assert "&quot;kind&quot;: &quot;mash&quot;" in page and 'name="definition"' not in page
    assert draft(world, "mash").form_version == version


def test_only_marac_referrals_count_in_the_marac_figures(world: dict[str, Any]) -> None:
    advisor = world["advisor"]
    today = timezone.localdate()
    for kind in ("idva", "marac"):
        referral = draft(world, kind)
        Referral.objects.filter(pk=referral.pk).update(criteria=["visible_high_risk"])
        move(advisor, referral, "submitted")
        expected = {"Visible high risk": 1} if kind == "marac" else {}
        assert reports.risk_figures(today, today)[1] == expected


def test_the_next_step_asks_for_a_meeting_date_only_where_it_can_list_the_referral(world: dict[str, Any]) -> None:
    supervisor = world["supervisor"]
    marac, idva = draft(world, "marac"), draft(world, "idva")
    for referral in (marac, idva):
        move(world["advisor"], referral, "submitted")
        move(supervisor, referral, "under_review", "accepted")
    client = signed_in(supervisor)

    def page(referral: Referral) -> str:
        return client.get(f"/risk/referrals/{referral.pk}/").content.decode()

    assert 'id="meeting_on"' in page(marac)
    assert 'id="outcome"' not in page(marac)
    move(supervisor, marac, "listed")
    assert 'id="meeting_on"' not in page(marac)  # listed already: the hearing's date is the outcome's
    assert 'id="outcome"' in page(marac)
    # Neither belongs to an IDVA referral, which no meeting lists or hears.
    assert 'id="meeting_on"' not in page(idva) and 'id="outcome"' not in page(idva)
    assert ">Sent to the agency</button>" in page(idva)
