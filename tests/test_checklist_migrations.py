"""The migrations of the whole checklist on a database that has data: incidents reported to the
police are found in the free text they had, and 2026.2 and YP-2026.1 become current beside
2026.1, which stays as it was; migrating back undoes them."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.apps.registry import Apps
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from risk import checklist

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("risk", "0011_riskstatistic")
AFTER = ("risk", "0014_seed_checklist_2026_2_and_young_people")


def migrate(target: tuple[str, str]) -> Apps:
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    return MigrationExecutor(connection).loader.project_state(target).apps


@pytest.fixture
def back_to_before() -> Iterator[Apps]:
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        yield migrate(BEFORE)
    finally:
        MigrationExecutor(connection).migrate(leaves)


def test_the_migrations_keep_what_was_there_and_add_the_new_versions(back_to_before: Apps) -> None:
    old = back_to_before
    user = old.get_model(settings.AUTH_USER_MODEL).objects.create(username="migrating")
    case = old.get_model("risk", "CaseRecord").objects.create(owner=user, reference="C-MIGRATE1")
    Incident = old.get_model("risk", "Incident")
    said: dict[str, bool] = {
        "Police": True,
        "west midlands police, 999 call": True,
        "POLICE and GP": True,
        "GP": False,
        "": False,
        "Housing officer": False,
    }
    for n, reported_to in enumerate(said):
        Incident.objects.create(
            case=case, occurred_on=f"2026-01-{n + 1:02d}", reported_to=reported_to, recorded_by=user
        )
    # As 0005 left it (a test before this one may have emptied the table).
    ChecklistVersion = old.get_model("risk", "ChecklistVersion")
    ChecklistVersion.objects.exclude(version="2026.1").delete()
    ChecklistVersion.objects.get_or_create(
        version="2026.1",
        defaults={"definition": checklist.shipped_definition("2026.1"), "state": "published", "is_current": True},
    )
    assert list(ChecklistVersion.objects.values_list("version", "is_current")) == [("2026.1", True)]

    new = migrate(AFTER)
    found = dict(new.get_model("risk", "Incident").objects.values_list("reported_to", "reported_to_police"))
    assert found == said
    versions = new.get_model("risk", "ChecklistVersion").objects
    rows: dict[str, Any] = {row["version"]: row for row in versions.values()}
    assert {v: (r["state"], r["is_current"], r["audience"]) for v, r in rows.items()} == {
        "2026.1": ("published", False, "adult"),
        "2026.2": ("published", True, "adult"),
        "YP-2026.1": ("published", True, "young_people"),
    }
    for version, row in rows.items():
        assert row["definition"] == checklist.shipped_definition(version)
    assert new.get_model("risk", "Assessment").objects.count() == 0

    # Back again: 2026.1 alone, current, as it was.
    again = migrate(BEFORE)
    assert list(again.get_model("risk", "ChecklistVersion").objects.values_list("version", "is_current")) == [
        ("2026.1", True)
    ]
