"""Checklist versions are data: seeded, copied as drafts, checked, published in the admin by staff
with the permission, never changed once published, and every change is in the admin's change log.
Assessments keep the version they were answered against."""

import copy
import json
from typing import Any

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType

from risk import checklist, checklist_versions, services
from risk.checklist_admin import item_lines, parts_text, tick_lines
from risk.models import Assessment, ChecklistVersion, ImmutableError
from tests import factories
from tests.factories import signed_in

pytestmark = pytest.mark.django_db

ADMIN = "/admin/risk/checklistversion/"


def grant(user: Any, *codenames: str) -> Any:
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="risk", codename__in=codenames))
    return type(user).objects.get(pk=user.pk)  # a fresh instance: permissions are cached per instance


def entries(version: ChecklistVersion) -> list[LogEntry]:
    content_type = ContentType.objects.get_for_model(ChecklistVersion)
    return list(LogEntry.objects.filter(content_type=content_type, object_id=str(version.pk)).order_by("pk"))


def form_data(row: ChecklistVersion, **changes: Any) -> dict[str, str]:
    data = {"version": row.version, "notes": row.notes}
    data.update({name: item_lines(row.definition[name]) for name in checklist.BLOCKS})
    data.update(ticks=tick_lines(row.definition), parts=parts_text(row.definition))
    data.update(changes)
    return data


@pytest.fixture
def people() -> dict[str, Any]:
    factories.queues()
    return {
        "supervisor": factories.staff(role="supervisor", is_staff_user=True),
        "advisor": factories.staff(),
    }


def shipped() -> ChecklistVersion:
    """The current adult version as shipped."""
    return ChecklistVersion.objects.get(version="2026.2")


def first() -> ChecklistVersion:
    return ChecklistVersion.objects.get(version="2026.1")


def test_the_migrations_seed_the_shipped_versions_published_and_one_current_for_each_audience() -> None:
    assert not first().is_current and first().state == ChecklistVersion.State.PUBLISHED
    assert first().definition == checklist.V2026_1.definition() == checklist.shipped_definition("2026.1")
    for version, shape, audience in (
        ("2026.2", checklist.SHIPPED, "adult"),
        ("YP-2026.1", checklist.YP2026_1, "young_people"),
    ):
        seeded = ChecklistVersion.objects.get(version=version)
        assert seeded.state == ChecklistVersion.State.PUBLISHED and seeded.is_current and seeded.published_at
        assert seeded.audience == audience and seeded.based_on == first()
        assert seeded.definition == shape.definition() == checklist.shipped_definition(version)
        assert checklist.validate(seeded.definition) == []
        assert checklist.current(audience) == shape == checklist.definition(version)
        assert checklist.from_definition(version, seeded.definition) == shape
    assert checklist.current() == checklist.SHIPPED == checklist.definition("2026.2")
    assert [c.version for c in checklist.currents()] == ["2026.2", "YP-2026.1"]
    assert checklist.from_definition("2026.1", first().definition) == checklist.V2026_1
    with pytest.raises(LookupError):
        checklist.definition("1999.1")
    with pytest.raises(LookupError):
        checklist.current("police")


def test_validation_names_each_problem() -> None:
    good = checklist.V2026_1.definition()
    assert checklist.validate(good) == []

    def problems(change: Any) -> list[str]:
        data = copy.deepcopy(good)
        change(data)
        return [message for _, message in checklist.validate(data)]

    assert problems(lambda d: d["stalking"].append(dict(d["core"][0]))) == [
        "Stalking, item 12 (c01): the key 'c01' is already used in Core (scored)."
    ]
    assert problems(lambda d: d["core"][4].update(label="  ")) == ["Core (scored), item 5 (c05): the label is empty."]
    assert problems(lambda d: d["honour"][0].update(question="")) == [
        "Honour-based abuse, item 1 (h1): the question is empty."
    ]
    assert problems(lambda d: d["children"][0].update(key="Kids 1")) == [
        "Children and dependants, item 1: the key 'Kids 1' must be 1 to 20 lower-case letters, digits or _."
    ]
    assert problems(lambda d: d["core"].pop()) == []  # 23 core items still reach 14
    assert problems(lambda d: d["core"][7].update(key="c08b")) == [
        "Core: keep an item with the key c08; a yes to it opens the stalking questions in the console.",
        "Core: keep an item with the key c08; the default prompt stalking names it.",
    ]
    nine = problems(lambda d: d.update(core=d["core"][:9]))
    assert any("a score of 14 (visible high risk) could never be reached" in p for p in nine)
    assert problems(lambda d: d.pop("honour")) == [
        "Honour-based abuse: the block is missing or is not a list of items."
    ]
    assert problems(lambda d: d.update(extra=[])) == [
        "Unknown block(s) extra; the blocks are before_you_ask, core, children, stalking, honour, the other "
        "parts audience, bands, triggers, prompts, professional."
    ]
    assert problems(lambda d: d["core"].__setitem__(0, {"key": "c01"})) == [
        "Core (scored), item 1: an item has exactly a key, a label and a question."
    ]
    assert checklist.validate([]) != []
    assert checklist.validate_version_label("2026.2") is None
    assert checklist.validate_version_label("next version!") is not None


def test_a_draft_is_copied_checked_and_only_then_published(people: dict[str, Any]) -> None:
    supervisor = people["supervisor"]
    draft = checklist_versions.checklist_version_draft_copy(version_id=shipped().pk, actor=supervisor)
    assert (draft.version, draft.state, draft.is_current, draft.based_on) == ("2026.3", "draft", False, shipped())
    assert draft.definition == shipped().definition and draft.created_by == supervisor
    assert draft.audience == "adult"
    assert [e.action_flag for e in entries(draft)] == [ADDITION]
    with pytest.raises(LookupError):
        checklist.definition("2026.3")  # advisors never see a draft
    assert (
        checklist_versions.checklist_version_draft_copy(version_id=shipped().pk, actor=supervisor).version == "2026.4"
    )

    draft.definition["core"][2]["question"] = ""
    draft.definition["bands"]["high_from"] = 25
    draft.save()
    with pytest.raises(checklist_versions.ChecklistInvalid) as refused:
        checklist_versions.checklist_version_publish(version_id=draft.pk, actor=supervisor)
    assert refused.value.code == "invalid"
    assert refused.value.problems == [
        "Core (scored), item 3 (c03): the question is empty.",
        "Core: with 24 items a score of 25 (visible high risk) could never be reached.",
    ]
    draft.refresh_from_db()
    assert draft.state == "draft" and checklist.current().version == "2026.2"

    draft.definition = copy.deepcopy(shipped().definition)
    draft.definition["core"][23] = {"key": "c25", "label": "New factor", "question": "A reworded question?"}
    draft.save()
    published = checklist_versions.checklist_version_publish(version_id=draft.pk, actor=supervisor)
    assert (published.state, published.is_current, published.published_by) == ("published", True, supervisor)
    assert published.published_at is not None
    assert checklist.current().version == "2026.3" and not shipped().is_current
    assert checklist.definition("2026.3").item("c25") is not None
    assert entries(published)[-1].change_message == "Published and made current (replacing 2026.2)."
    assert entries(shipped())[-1].change_message == "No longer current: 2026.3 is."
    # The young people's version is current still: each audience has its own.
    assert checklist.current("young_people").version == "YP-2026.1"
    with pytest.raises(services.RiskError) as again:
        checklist_versions.checklist_version_publish(version_id=draft.pk, actor=supervisor)
    assert again.value.code == "invalid_state"

    # An earlier version can be made current again; it stays as it was.
    checklist_versions.checklist_version_publish(version_id=first().pk, actor=supervisor)
    assert checklist.current().version == "2026.1"
    assert entries(first())[-1].change_message == "Made current again (replacing 2026.3)."
    assert checklist.current("young_people").version == "YP-2026.1"


def test_a_published_version_is_never_changed_or_deleted(people: dict[str, Any]) -> None:
    seeded = shipped()
    seeded.definition["core"][0]["label"] = "Changed"
    with pytest.raises(ImmutableError):
        seeded.save()
    with pytest.raises(ImmutableError):
        seeded.save(update_fields=["definition"])
    with pytest.raises(ImmutableError):
        seeded.delete()
    with pytest.raises(ImmutableError):
        ChecklistVersion.objects.filter(pk=seeded.pk).delete()
    assert shipped().definition == checklist.SHIPPED.definition()

    # A draft nobody answered can go; one whose label assessments carry cannot.
    draft = checklist_versions.checklist_version_draft_copy(version_id=seeded.pk, actor=people["supervisor"])
    Assessment.objects.create(
        case=factories_case(people["advisor"]), version=draft.version, created_by=people["advisor"]
    )
    with pytest.raises(ImmutableError):
        draft.delete()
    spare = checklist_versions.checklist_version_draft_copy(version_id=seeded.pk, actor=people["supervisor"])
    spare.delete()
    assert not ChecklistVersion.objects.filter(pk=spare.pk).exists()


def factories_case(user: Any) -> Any:
    return factories.case_with_chat(user)


def test_old_assessments_keep_their_version_and_score(people: dict[str, Any]) -> None:
    advisor, supervisor = people["advisor"], people["supervisor"]
    case = factories_case(advisor)
    old = services.assessment_start(user=advisor, case_id=case.pk)
    everything = {item.key: {"value": "yes"} for item in checklist.SHIPPED.core}
    services.assessment_answer(user=advisor, assessment_id=old.pk, answers=everything)

    draft = checklist_versions.checklist_version_draft_copy(version_id=shipped().pk, actor=supervisor)
    draft.definition["core"][23] = {"key": "c25", "label": "New factor", "question": "A reworded question?"}
    draft.save()
    checklist_versions.checklist_version_publish(version_id=draft.pk, actor=supervisor)

    old.refresh_from_db()
    assert old.version == "2026.2" and services.evaluation(old).score == 24
    _, result = services.assessment_answer(user=advisor, assessment_id=old.pk, answers={"c24": {"value": "no"}})
    assert result.score == 23
    with pytest.raises(services.RiskError):
        services.assessment_answer(user=advisor, assessment_id=old.pk, answers={"c25": {"value": "yes"}})

    new = services.assessment_start(user=advisor, case_id=case.pk)
    assert new.version == "2026.3"
    with pytest.raises(services.RiskError):
        services.assessment_answer(user=advisor, assessment_id=new.pk, answers={"c24": {"value": "yes"}})
    first_23 = {key: value for key, value in everything.items() if key != "c24"}
    _, result = services.assessment_answer(user=advisor, assessment_id=new.pk, answers=first_23)
    assert result.score == 23 and result.unanswered == ["c25"]
    _, result = services.assessment_answer(user=advisor, assessment_id=new.pk, answers={"c25": {"value": "yes"}})
    assert result.score == 24

    # The console's API gives each assessment its own definition.
    client = signed_in(advisor)
    conversation = case.conversation_links.get().conversation_id
    state = client.get(f"/risk/api/conversations/{conversation}/").json()
    assert state["assessment"]["definition"]["version"] in ("2026.2", "2026.3")
    assert {item["key"] for item in state["assessment"]["definition"]["core"]} >= {"c08", "c04"}


def test_publishing_needs_the_permission(people: dict[str, Any]) -> None:
    advisor = people["advisor"]
    type(advisor).objects.filter(pk=advisor.pk).update(is_staff=True)
    advisor = type(advisor).objects.get(pk=advisor.pk)
    with pytest.raises(services.RiskError) as refused:
        checklist_versions.checklist_version_draft_copy(version_id=shipped().pk, actor=advisor)
    assert refused.value.code == "forbidden"
    draft = checklist_versions.checklist_version_draft_copy(version_id=shipped().pk, actor=people["supervisor"])
    with pytest.raises(services.RiskError) as refused:
        checklist_versions.checklist_version_publish(version_id=draft.pk, actor=advisor)
    assert refused.value.code == "forbidden"

    client = signed_in(advisor)
    assert client.get(ADMIN).status_code == 403
    assert client.get(f"{ADMIN}{draft.pk}/change/").status_code == 403
    assert client.post(ADMIN, {"action": "publish", "_selected_action": [draft.pk]}).status_code == 403

    # Allowed to edit drafts but not to publish: the action is not offered and does nothing.
    editor = grant(advisor, "view_checklistversion", "add_checklistversion", "change_checklistversion")
    client = signed_in(editor)
    listing = client.get(ADMIN)
    assert listing.status_code == 200 and "Copy as a new draft" in listing.content.decode()
    assert "Publish and make current" not in listing.content.decode()
    client.post(ADMIN, {"action": "publish", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.state == "draft" and checklist.current().version == "2026.2"

    publisher = grant(editor, "publish_checklistversion")
    assert checklist_versions.checklist_version_publish(version_id=draft.pk, actor=publisher).is_current


def test_the_admin_copies_edits_checks_and_publishes_with_a_change_log(people: dict[str, Any]) -> None:
    supervisor = people["supervisor"]
    client = signed_in(supervisor)
    assert client.get(ADMIN).status_code == 200

    copied = client.post(ADMIN, {"action": "copy_as_draft", "_selected_action": [shipped().pk]}, follow=True)
    assert "Draft" in copied.content.decode() and "2026.3" in copied.content.decode()
    draft = ChecklistVersion.objects.get(version="2026.3")
    page = client.get(f"{ADMIN}{draft.pk}/change/").content.decode()
    assert "c02 | Very frightened | Are you very frightened?" in page and "key | label | question" in page

    # Mistakes come back on the form, next to the block, and nothing is saved.
    core = draft.definition["core"]
    lines = item_lines(core).splitlines()
    refused = client.post(f"{ADMIN}{draft.pk}/change/", form_data(draft, core="\n".join([*lines, lines[2]])))
    assert refused.status_code == 200
    assert "the key &#x27;c03&#x27; is already used in Core (scored)" in refused.content.decode()
    refused = client.post(f"{ADMIN}{draft.pk}/change/", form_data(draft, core="\n".join(["c01 Injured", *lines[1:]])))
    assert "Line 1: write key | label | question" in refused.content.decode()
    refused = client.post(f"{ADMIN}{draft.pk}/change/", form_data(draft, stalking="c02 | Again | Twice?"))
    assert "the key &#x27;c02&#x27; is already used in Core (scored)" in refused.content.decode()
    draft.refresh_from_db()
    assert draft.definition == shipped().definition

    reworded = "\n\n".join([lines[0], "c02 | Very frightened | How frightened are you right now?", *lines[2:]])
    saved = client.post(
        f"{ADMIN}{draft.pk}/change/", form_data(draft, core=reworded, notes="Reworded the fear question.")
    )
    assert saved.status_code == 302, saved.content[:2000]
    draft.refresh_from_db()
    assert draft.definition["core"][1]["question"] == "How frightened are you right now?"
    assert len(draft.definition["core"]) == 24
    changed = entries(draft)[-1]
    assert changed.action_flag == CHANGE and changed.user_id == supervisor.pk
    assert "Core" in changed.get_change_message()

    published = client.post(ADMIN, {"action": "publish", "_selected_action": [draft.pk]}, follow=True)
    assert "is published and current" in published.content.decode()
    draft.refresh_from_db()
    assert draft.state == "published" and draft.is_current and draft.published_by == supervisor
    assert checklist.current().item("c02") == checklist.Item(
        "c02", "Very frightened", "How frightened are you right now?"
    )
    # The details to tick and the other parts came through the form unchanged.
    assert {k: v for k, v in draft.definition.items() if k != "core"} == {
        k: v for k, v in shipped().definition.items() if k != "core"
    }
    assert [item.get("ticks") for item in draft.definition["core"]] == [
        item.get("ticks") for item in shipped().definition["core"]
    ]
    assert entries(draft)[-1].change_message.startswith("Published and made current")

    # Now read-only: shown, never saved or deleted.
    shown = client.get(f"{ADMIN}{draft.pk}/change/")
    page = shown.content.decode()
    assert shown.status_code == 200 and "How frightened are you right now?" in page
    assert 'name="_save"' not in page and "<th>Question</th>" in page and "<h3>Core (scored) (24)</h3>" in page
    assert client.post(f"{ADMIN}{draft.pk}/change/", form_data(draft, notes="sneaky")).status_code == 403
    assert client.post(f"{ADMIN}{draft.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post(ADMIN, {"action": "delete_selected", "_selected_action": [draft.pk], "post": "yes"})
    assert ChecklistVersion.objects.filter(pk=draft.pk).exists()
    assert client.get("/admin/admin/logentry/").status_code == 200


def test_the_admin_adds_a_draft_from_the_current_items_and_refuses_a_broken_publish(people: dict[str, Any]) -> None:
    supervisor = people["supervisor"]
    client = signed_in(supervisor)
    page = client.get(f"{ADMIN}add/").content.decode()
    assert "c24 | Criminal record |" in page
    data = form_data(shipped(), version="2026.5", notes="Started from scratch.")
    assert client.post(f"{ADMIN}add/", data).status_code == 302
    draft = ChecklistVersion.objects.get(version="2026.5")
    assert draft.state == "draft" and draft.created_by == supervisor and draft.based_on == shipped()
    assert [e.action_flag for e in entries(draft)] == [ADDITION]
    assert client.post(f"{ADMIN}add/", {**data, "version": "next version!"}).status_code == 200

    # A draft broken outside the form is still refused at publishing, with the reasons listed.
    ChecklistVersion.objects.filter(pk=draft.pk).update(definition={**draft.definition, "core": []})
    refused = client.post(ADMIN, {"action": "publish", "_selected_action": [draft.pk]}, follow=True).content.decode()
    assert "2026.5 cannot be published:<ul><li>" in refused and "with 0 items a score of 14" in refused
    assert checklist.current().version == "2026.2"


def test_save_and_publish_from_the_draft_page(people: dict[str, Any]) -> None:
    supervisor = people["supervisor"]
    draft = checklist_versions.checklist_version_draft_copy(version_id=shipped().pk, actor=supervisor)
    client = signed_in(supervisor)
    assert 'name="_publish"' in client.get(f"{ADMIN}{draft.pk}/change/").content.decode()
    done = client.post(
        f"{ADMIN}{draft.pk}/change/", {**form_data(draft, notes="Ready."), "_publish": "Save and publish"}, follow=True
    )
    assert "is published and current" in done.content.decode()
    draft.refresh_from_db()
    assert draft.notes == "Ready." and draft.is_current and draft.state == "published"
    assert [e.change_message.split(" (")[0] for e in entries(draft)][-1] == "Published and made current"
    assert 'name="_publish"' not in done.content.decode()  # now read-only

    # Someone who may edit drafts but not publish gets no such button, and saving it does not publish.
    editor = grant(people["advisor"], "view_checklistversion", "add_checklistversion", "change_checklistversion")
    type(editor).objects.filter(pk=editor.pk).update(is_staff=True)
    client = signed_in(editor)
    second = checklist_versions.checklist_version_draft_copy(version_id=draft.pk, actor=supervisor)
    assert 'name="_publish"' not in client.get(f"{ADMIN}{second.pk}/change/").content.decode()
    client.post(f"{ADMIN}{second.pk}/change/", {**form_data(second), "_publish": "Save and publish"}, follow=True)
    second.refresh_from_db()
    assert second.state == "draft" and checklist.current().version == draft.version


def test_the_admin_edits_the_details_to_tick_and_the_other_parts_of_a_young_people_s_draft(
    people: dict[str, Any],
) -> None:
    supervisor = people["supervisor"]
    client = signed_in(supervisor)
    young = ChecklistVersion.objects.get(version="YP-2026.1")
    client.post(ADMIN, {"action": "copy_as_draft", "_selected_action": [young.pk]})
    draft = ChecklistVersion.objects.get(version="YP-2026.2")
    assert (draft.audience, draft.based_on) == ("young_people", young)
    page = client.get(f"{ADMIN}{draft.pk}/change/").content.decode()
    assert "c14 | victim | The young person" in page and "&quot;young_people&quot;" in page

    # Mistakes come back next to the field, and nothing is saved.
    for changes, message in (
        ({"ticks": "c14 victim"}, "Line 1: write item key | tick key | label"),
        ({"ticks": "c99 | x | X"}, "There is no item &#x27;c99&#x27; to tick details of."),
        ({"ticks": tick_lines(young.definition) + "\nc14 | Victim | Again"}, "the key &#x27;Victim&#x27; must be"),
        ({"parts": "{audience: young}"}, "Not JSON"),
        ({"parts": '{"colour": "red"}'}, "An object with some of audience, bands"),
        ({"parts": parts_text(young.definition).replace('"medium_from": 10', '"medium_from": 15')}, "0 &lt; medium"),
    ):
        refused = client.post(f"{ADMIN}{draft.pk}/change/", form_data(draft, **changes))
        assert refused.status_code == 200 and message in refused.content.decode(), message
    draft.refresh_from_db()
    assert draft.definition == young.definition

    parts = json.loads(parts_text(young.definition))
    parts["audience"]["label"] = "Young people (13 to 17), reworded"
    saved = client.post(
        f"{ADMIN}{draft.pk}/change/",
        form_data(draft, ticks=tick_lines(young.definition) + "\nc02 | a_lot | A lot", parts=json.dumps(parts)),
    )
    assert saved.status_code == 302, saved.content[:2000]
    draft.refresh_from_db()
    c02 = next(item for item in draft.definition["core"] if item["key"] == "c02")
    assert c02["ticks"] == [{"key": "a_lot", "label": "A lot"}]
    assert draft.definition["audience"]["label"] == "Young people (13 to 17), reworded"

    published = client.post(ADMIN, {"action": "publish", "_selected_action": [draft.pk]}, follow=True)
    assert "is published and current for young_people" in published.content.decode()
    assert checklist.current("young_people").version == "YP-2026.2"
    assert checklist.current().version == "2026.2"  # the adults' version is untouched
    assert not ChecklistVersion.objects.get(version="YP-2026.1").is_current
    shown = client.get(f"{ADMIN}{draft.pk}/change/").content.decode()
    assert "<th>Details to tick</th>" in shown and "The young person (victim)" in shown and "A lot (a_lot)" in shown
    assert "reworded" in shown and 'name="_save"' not in shown
    listing = client.get(ADMIN).content.decode()
    assert "young_people" in listing and "adult" in listing
