"""Triage before a human, the directory and opening hours, through the real ASGI application.

The flow, the directory and the hours are data staff edit in the admin; these tests edit them as
the admin would (rows) and check what a visitor's socket then gets."""

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from asgiref.sync import sync_to_async
from django.db import IntegrityError, transaction

from chat import hours
from chat.models import Conversation
from chat.services.visitor import IN_DANGER_PRIORITY
from chat.setup_models import DirectoryEntry, Holiday, OpeningHours, Region, Schedule, TriageOption, TriageQuestion
from tests import factories
from tests.support.ws import TRIAGE, visitor_socket

pytestmark = pytest.mark.django_db(transaction=True)
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def seeded(db: None) -> None:
    factories.queues()


async def started_visitor() -> Any:
    visitor = await visitor_socket().connect()
    await visitor.ok("hello")
    await visitor.ok("conversation.start")
    return visitor


async def test_the_flow_comes_in_order_with_what_each_option_does(seeded: None) -> None:
    visitor = await visitor_socket().connect()
    await visitor.ok("hello")
    flow = await visitor.ok("triage.flow")
    keys = [q["key"] for q in flow["questions"]]
    # No region exists yet, so the region question is not asked.
    assert keys == ["in_danger", "safe_to_talk", "about", "language", "help"]
    danger = flow["questions"][0]
    assert danger["prompt"] == "Are you in danger right now?"
    assert [(o["value"], o["emergency"]) for o in danger["options"]] == [("yes", True), ("no", False)]
    assert flow["emergency_number"] == "999"
    language = next(q for q in flow["questions"] if q["role"] == "language")
    assert {"en", "cy", "pl", "ar"} <= {o["value"] for o in language["options"]}
    assert next(o["label"] for o in language["options"] if o["value"] == "cy") == "Cymraeg"
    help_question = next(q for q in flow["questions"] if q["key"] == "help")
    assert help_question["multiple"] is True and help_question["required"] is False


async def test_staff_edits_change_what_visitors_are_asked(seeded: None) -> None:
    @sync_to_async
    def edit() -> None:
        TriageQuestion.objects.filter(key="help").update(active=False)
        children = TriageQuestion.objects.create(key="children", prompt="Are there children at home?", order=25)
        TriageOption.objects.create(question=children, value="yes", label="Yes", order=1)
        TriageOption.objects.create(question=children, value="no", label="No", order=2)
        TriageQuestion.objects.filter(key="about").update(translations={"pl": {"prompt": "Kogo to dotyczy?"}})
        Region.objects.create(slug="wales", name="Wales", translations={"cy": "Cymru"})

    await edit()
    visitor = await started_visitor()
    flow = await visitor.ok("triage.flow", language="pl")
    keys = [q["key"] for q in flow["questions"]]
    assert keys == ["in_danger", "safe_to_talk", "about", "children", "language", "region"]
    assert next(q for q in flow["questions"] if q["key"] == "about")["prompt"] == "Kogo to dotyczy?"
    welsh = await visitor.ok("triage.flow", language="cy")
    region = next(q for q in welsh["questions"] if q["key"] == "region")
    assert region["options"] == [{"value": "wales", "label": "Cymru", "emergency": False, "caution": False}]

    # The retired question is refused; the new one is answered and shown to the advisor.
    answers = {"in_danger": "no", "safe_to_talk": "yes", "about": "myself", "children": "yes", "region": "wales"}
    assert await visitor.error("triage.submit", answers={**answers, "help": ["legal"]}) == "invalid"
    await visitor.ok("triage.submit", answers=answers)
    conversation = await Conversation.objects.aget()
    assert conversation.region == "wales"
    assert {
        "key": "children",
        "role": "other",
        "question": "Are there children at home?",
        "answer": "Yes",
    } in conversation.triage["summary"]


async def test_answers_decide_queue_priority_and_caution(seeded: None) -> None:
    visitor = await started_visitor()
    await visitor.ok(
        "triage.submit",
        answers={
            "in_danger": "yes",
            "safe_to_talk": "no",
            "about": "own_behaviour",
            "language": "pl",
            "help": ["housing", "legal"],
        },
    )
    conversation = await Conversation.objects.select_related("queue").aget()
    assert conversation.state == Conversation.State.QUEUED
    assert conversation.queue is not None and conversation.queue.slug == "perpetrator"
    assert conversation.priority == IN_DANGER_PRIORITY
    assert (conversation.language, conversation.topic) == ("pl", "housing")
    assert conversation.triage["in_danger"] is True
    assert conversation.triage["safe_to_talk"] is False
    assert conversation.triage["help"] == ["housing", "legal"]


@pytest.mark.parametrize(
    ("change", "code", "names"),
    [
        ({"nonsense": "x"}, "invalid", "answers.nonsense"),
        ({"about": "everyone"}, "invalid", "answers.about"),
        ({"about": ["myself"]}, "invalid", "answers.about"),
        ({"help": "legal"}, "invalid", "answers.help"),
        ({"help": ["legal", "legal"]}, "invalid", "answers.help"),
        ({"about": None}, "triage_incomplete", "answers.about"),
    ],
)
async def test_bad_answers_are_refused_and_nothing_changes(
    seeded: None, change: dict[str, Any], code: str, names: str
) -> None:
    visitor = await started_visitor()
    answers = {k: v for k, v in {**TRIAGE, **change}.items() if v is not None}
    reply = await visitor.request("triage.submit", answers=answers)
    assert reply["ok"] is False
    assert reply["error"]["code"] == code
    assert names in reply["error"]["message"]
    conversation = await Conversation.objects.aget()
    assert (conversation.state, conversation.triage, conversation.queue_id) == ("triage", {}, None)
    # Fixed, the same conversation goes on.
    await visitor.ok("triage.submit", answers=TRIAGE)


async def test_malformed_answers_fail_the_schema(seeded: None) -> None:
    visitor = await started_visitor()
    for answers in ({"about": "<script>"}, {"x" * 41: "yes"}, {"about": 3}, {f"k{i}": "a" for i in range(31)}):
        assert await visitor.error("triage.submit", answers=answers) == "invalid"
    assert await visitor.error("directory.lookup", region="../etc") == "invalid"


# --- The directory --------------------------------------------------------------------------


@sync_to_async
def make_directory() -> None:
    wales = Region.objects.create(slug="wales", name="Wales", translations={"cy": "Cymru"})
    Region.objects.create(slug="london", name="London")
    DirectoryEntry.objects.create(name="National line", kind="helpline", phone="0808 2000 247", open_24h=True)
    DirectoryEntry.objects.create(
        name="Advice centre", kind="advice", region=wales, phone="029 2018 0999", address="12 Example St, Cardiff"
    )
    DirectoryEntry.objects.create(
        name="Harbour House", kind="refuge", region=wales, contact_route="Through the national line"
    )
    DirectoryEntry.objects.create(name="Closed service", kind="advice", region=wales, active=False)


async def test_directory_by_region_never_gives_a_refuge_address(seeded: None) -> None:
    await make_directory()
    visitor = await visitor_socket().connect()
    await visitor.ok("hello")
    everything = await visitor.ok("directory.lookup")
    assert [r["slug"] for r in everything["regions"]] == ["london", "wales"]
    assert [e["name"] for e in everything["national"]] == ["National line"]
    assert everything["local"] == [] and everything["region"] is None

    wales = await visitor.ok("directory.lookup", region="wales", language="cy")
    assert wales["region"] == {"slug": "wales", "name": "Cymru"}
    local = {e["name"]: e for e in wales["local"]}
    assert set(local) == {"Advice centre", "Harbour House"}
    assert local["Advice centre"]["map_url"].startswith("https://www.openstreetmap.org/search?query=12+Example")
    refuge = local["Harbour House"]
    assert (refuge["address"], refuge["map_url"]) == ("", "")
    assert refuge["contact_route"] == "Through the national line"
    assert await visitor.error("directory.lookup", region="atlantis") == "unknown_region"


async def test_a_refuge_address_cannot_be_stored(seeded: None) -> None:
    from django.core.exceptions import ValidationError

    entry = DirectoryEntry(name="Refuge", kind="refuge", address="1 Secret Road", contact_route="By phone")
    with pytest.raises(ValidationError):
        entry.full_clean()

    @sync_to_async
    def save() -> None:
        with transaction.atomic():
            entry.save()

    with pytest.raises(IntegrityError):
        await save()


# --- Opening hours --------------------------------------------------------------------------


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


@pytest.fixture
def weekday_hours(seeded: None) -> None:
    """Mon-Fri 08:00-20:00, Saturday 10:00-midnight, closed Sunday; one holiday closed, one short."""
    OpeningHours.objects.all().delete()
    for day in range(5):
        OpeningHours.objects.create(weekday=day, opens=time(8), closes=time(20))
    OpeningHours.objects.create(weekday=5, opens=time(10), closes=time(0))
    Holiday.objects.create(date=date(2026, 12, 25), name="Christmas Day")
    Holiday.objects.create(date=date(2026, 12, 24), name="Christmas Eve", opens=time(9), closes=time(13))


@pytest.mark.parametrize(
    ("moment", "is_open", "next_open"),
    [
        (at(2026, 11, 23, 8), True, None),  # Monday at opening
        (at(2026, 11, 23, 19, 59), True, None),
        (at(2026, 11, 23, 20), False, "2026-11-24T08:00:00+00:00"),  # closes at 20:00
        (at(2026, 11, 23, 7, 30), False, "2026-11-23T08:00:00+00:00"),
        (at(2026, 11, 28, 23, 59), True, None),  # Saturday runs to midnight
        (at(2026, 11, 29, 12), False, "2026-11-30T08:00:00+00:00"),  # Sunday closed
        (at(2026, 12, 25, 12), False, "2026-12-26T10:00:00+00:00"),  # a Friday holiday, closed
        (at(2026, 12, 24, 12), True, None),  # short holiday hours
        (at(2026, 12, 24, 14), False, "2026-12-26T10:00:00+00:00"),
    ],
)
def test_opening_hours(weekday_hours: None, moment: datetime, is_open: bool, next_open: str | None) -> None:
    status = hours.opening_status(now=moment)
    assert status["open"] is is_open
    assert status["next_open"] == next_open


def test_hours_are_read_in_the_helplines_time_zone(weekday_hours: None) -> None:
    Schedule.objects.update(time_zone="America/New_York")
    # 13:00 in London is 08:00 in New York on a Monday in winter.
    assert hours.opening_status(now=at(2026, 11, 23, 12, 59))["open"] is False
    assert hours.opening_status(now=at(2026, 11, 23, 13))["open"] is True


def test_the_week_is_worded_in_the_visitors_language(weekday_hours: None) -> None:
    week = hours.opening_status(now=at(2026, 11, 23, 9), language="pl")["week"]
    assert week[0]["name"] == "Poniedziałek"
    assert week[0]["hours"] == ["08:00\u201320:00"]
    assert week[5]["hours"] == ["10:00\u201324:00"]
    assert week[6]["hours"] == ["Nieczynne"]


async def test_out_of_hours_nobody_is_queued_but_queued_chats_stay(seeded: None) -> None:
    waiting = await started_visitor()
    await waiting.ok("triage.submit", answers=TRIAGE)
    await OpeningHours.objects.all().adelete()  # closed all week from now on

    newcomer = await visitor_socket().connect()
    hello = await newcomer.ok("hello")
    assert hello["service"]["hours"]["open"] is False
    assert await newcomer.error("conversation.start") == "closed"
    assert await Conversation.objects.acount() == 1
    assert (await Conversation.objects.aget()).state == Conversation.State.QUEUED
    # The directory and the flow are still there to read.
    await newcomer.ok("directory.lookup")
