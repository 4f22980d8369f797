"""Languages: offline detection of the visitor's first messages, the suggestion to switch,
routing to advisors who speak the chat's language, and machine translation for advisors through
a LibreTranslate-compatible HTTP server (a small one of our own here, speaking the same API)."""

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from chat import language
from chat.models import Conversation, Message
from tests import factories
from tests.support.libretranslate import API_KEY, POLISH, POLISH_IN_ENGLISH, TranslationServer
from tests.support.ws import advisor_on_shift, queued_visitor

pytestmark = pytest.mark.django_db(transaction=True)

WELSH = "Dw i angen siarad â rhywun am fy mhartner, mae arna i ofn"


# --- detection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I need to talk to someone about my partner", "en"),
        (POLISH, "pl"),
        (WELSH, "cy"),
        ("أحتاج إلى مساعدة، زوجي يضربني", "ar"),
        ("مجھے مدد چاہیے، میرا شوہر مجھے مارتا ہے", "ur"),
        ("Am nevoie de ajutor, soțul meu mă lovește", "ro"),
    ],
)
def test_detects_the_language_of_a_message(text: str, expected: str) -> None:
    assert language.detect(text) == expected


@pytest.mark.parametrize("text", ["hi", "ok", "hello?", "???", "123 456 789", "", "🙂🙂🙂🙂🙂🙂🙂🙂🙂"])
def test_says_nothing_when_the_text_says_nothing(text: str) -> None:
    assert language.detect(text) is None


def test_detects_only_the_configured_languages(settings: Any) -> None:
    settings.CHAT = {**settings.CHAT, "DETECT_LANGUAGES": ["en", "cy", "xx-unknown"]}
    assert language.detect(POLISH) in (None, "en", "cy")


# --- in the chat -----------------------------------------------------------------------------


async def test_a_first_message_in_another_language_suggests_it(setup_queues: None) -> None:
    advisor_user = await sync_to_async(factories.staff)(languages=["en", "pl"])
    advisor = await advisor_on_shift(advisor_user)
    visitor, _token, conversation_id = await queued_visitor()
    await advisor.ok("conversation.accept", conversation_id=conversation_id)

    await visitor.ok("message.send", client_msg_id="v-1", text=POLISH)
    suggestion = await visitor.expect("entry", event="language_suggested")
    assert suggestion["data"] == {"language": "pl"}
    # Written for the visitor, in the language they wrote in; the advisor reads the same entry.
    assert suggestion["text"] == (
        "Wygląda na to, że piszesz w języku: polski. Możesz przełączyć tę rozmowę na ten język."
    )
    assert "visitor" not in suggestion["text"].lower()
    told = await advisor.expect("entry", event="language_suggested")
    assert told["text"] == suggestion["text"]
    summary = await advisor.expect("conversation", detected_language="pl")
    assert summary["language"] == "en"

    # Only the first messages are read, and only until a language is clear: no second notice.
    await visitor.ok("message.send", client_msg_id="v-2", text=WELSH)
    await visitor.ok("language.set", language="pl")
    switched = await advisor.expect("entry", event="language_set")
    assert "pl" in switched["text"]
    await advisor.expect("conversation", language="pl", detected_language="pl")
    events = [
        event
        async for event in Message.objects.filter(conversation_id=conversation_id, kind="event").values_list(
            "event", flat=True
        )
    ]
    assert events.count("language_suggested") == 1
    assert "language_detected" not in events
    await visitor.close()
    await advisor.close()


async def test_a_message_in_the_chats_own_language_adds_nothing_to_the_log(setup_queues: None) -> None:
    visitor, _token, conversation_id = await queued_visitor()
    await visitor.ok("message.send", client_msg_id="v-1", text="I need to talk to someone about my partner")
    conversation = await Conversation.objects.aget(pk=conversation_id)
    for _ in range(50):  # detection follows the reply; wait for it to be recorded
        if conversation.detected_language:
            break
        await visitor.drain(0.05)
        conversation = await Conversation.objects.aget(pk=conversation_id)
    assert conversation.detected_language == "en"
    assert not await Message.objects.filter(conversation_id=conversation_id, event__startswith="language").aexists()
    await visitor.close()


async def test_a_language_the_widget_does_not_offer_is_told_to_staff_only(setup_queues: None) -> None:
    visitor, _token, conversation_id = await queued_visitor()
    await visitor.ok("message.send", client_msg_id="v-1", text="Am nevoie de ajutor, soțul meu mă lovește")
    for _ in range(50):
        entry = await Message.objects.filter(conversation_id=conversation_id, event="language_detected").afirst()
        if entry is not None:
            break
        await visitor.drain(0.05)
    assert entry is not None and entry.public_seq is None and entry.data["language"] == "ro"
    assert not [m for m in visitor.inbox if m.get("event", "").startswith("language")]
    await visitor.close()


async def test_language_set_refuses_a_language_the_chat_does_not_offer(setup_queues: None) -> None:
    visitor, _token, conversation_id = await queued_visitor()
    assert await visitor.error("language.set", language="xx") == "unknown_language"
    assert await visitor.error("language.set", language="not a code") == "invalid"
    assert await visitor.error("language.set") == "invalid"
    conversation = await Conversation.objects.aget(pk=conversation_id)
    assert conversation.language == "en"
    await visitor.close()


async def test_language_set_needs_an_open_conversation(setup_queues: None) -> None:
    from tests.support.ws import visitor_socket

    visitor = await visitor_socket().connect()
    await visitor.ok("hello")
    assert await visitor.error("language.set", language="cy") == "no_conversation"
    await visitor.close()


# --- routing -----------------------------------------------------------------------------------


async def test_take_next_prefers_an_advisor_who_speaks_the_language(setup_queues: None) -> None:
    english_only = await advisor_on_shift(await sync_to_async(factories.staff)(languages=["en"]))
    welsh = await advisor_on_shift(await sync_to_async(factories.staff)(languages=["en", "cy"]))
    first, _t1, welsh_chat = await queued_visitor(language="cy")
    second, _t2, english_chat = await queued_visitor(language="en")

    # The Welsh chat is first in line, but a Welsh speaker is on shift: the English-only advisor
    # gets the next chat they can serve.
    taken = await english_only.ok("queue.take_next")
    assert taken["conversation"]["conversation_id"] == english_chat
    taken = await welsh.ok("queue.take_next")
    assert taken["conversation"]["conversation_id"] == welsh_chat
    for socket in (first, second, english_only, welsh):
        await socket.close()


async def test_a_language_nobody_on_shift_speaks_goes_to_anyone(setup_queues: None) -> None:
    advisor = await advisor_on_shift(await sync_to_async(factories.staff)(languages=["en"]))
    visitor, _token, chat = await queued_visitor(language="pl")
    taken = await advisor.ok("queue.take_next")
    assert taken["conversation"]["conversation_id"] == chat
    assert taken["conversation"]["language"] == "pl"
    await visitor.close()
    await advisor.close()


async def test_a_chat_that_waited_long_for_a_speaker_goes_to_anyone(setup_queues: None) -> None:
    english_only = await advisor_on_shift(await sync_to_async(factories.staff)(languages=["en"]))
    welsh_user = await sync_to_async(factories.staff)(languages=["cy"], capacity=1)
    welsh = await advisor_on_shift(welsh_user)
    busy, _t, busy_chat = await queued_visitor(language="cy")
    await welsh.ok("conversation.accept", conversation_id=busy_chat)  # the Welsh speaker is now full
    waiting, _t2, chat = await queued_visitor(language="cy")
    assert await english_only.error("queue.take_next") == "queue_empty"
    await Conversation.objects.filter(pk=chat).aupdate(queued_at=timezone.now() - timedelta(minutes=6))
    taken = await english_only.ok("queue.take_next")
    assert taken["conversation"]["conversation_id"] == chat
    for socket in (busy, waiting, english_only, welsh):
        await socket.close()


def _queued_chat(language: str) -> Conversation:
    from chat.models import Queue, Visitor

    now = timezone.now()
    visitor = Visitor.objects.create(
        token_hash=f"test-{language}-{now.timestamp()}", expires_at=now + timedelta(days=1)
    )
    return Conversation.objects.create(
        visitor=visitor,
        queue=Queue.objects.get(slug="general"),
        state=Conversation.State.QUEUED,
        language=language,
        queued_at=now,
        queue_key=now,
    )


def test_take_next_reads_who_else_speaks_a_language_only_when_the_advisor_does_not(setup_queues: None) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from agents.models import StaffProfile
    from chat import reference
    from chat.services.handoff import _servable

    advisor = factories.staff(languages=["en"])
    factories.staff(languages=["en", "cy"])
    StaffProfile.objects.update(availability=StaffProfile.Availability.ON_SHIFT)
    profile = StaffProfile.objects.get(user=advisor)
    reads_languages = f'"{StaffProfile._meta.db_table}"."languages"'

    english = _queued_chat("en")
    reference.clear()
    with CaptureQueriesContext(connection) as queries:
        assert _servable(profile) == [english.pk]
    assert not [q for q in queries if reads_languages in q["sql"]]

    # A Welsh chat ahead of it, and a Welsh speaker on shift: not this advisor's to take, and
    # finding that out reads the others' languages.
    welsh = _queued_chat("cy")
    ahead = timezone.now() - timedelta(minutes=1)  # and not waiting long enough to go to anyone
    Conversation.objects.filter(pk=welsh.pk).update(queue_key=ahead)
    Conversation.objects.filter(pk=english.pk).update(queue_key=timezone.now())
    reference.clear()
    with CaptureQueriesContext(connection) as queries:
        assert _servable(profile) == [english.pk]
    assert [q for q in queries if reads_languages in q["sql"]]


# --- translation -----------------------------------------------------------------------------


@pytest.fixture
def provider(settings: Any) -> Iterator[TranslationServer]:
    with TranslationServer() as server:
        settings.TRANSLATION = {"URL": server.url, "API_KEY": API_KEY, "TIMEOUT_SECONDS": 5.0}
        yield server


async def _chat_in_polish(advisor_languages: list[str]) -> tuple[Any, Any, str, int]:
    advisor = await advisor_on_shift(await sync_to_async(factories.staff)(languages=advisor_languages))
    visitor, _token, chat = await queued_visitor(language="pl")
    await advisor.ok("conversation.accept", conversation_id=chat)
    sent = await visitor.ok("message.send", client_msg_id="v-1", text=POLISH)
    entry = await advisor.expect("entry", text=POLISH)
    assert sent["conversation_id"] == chat
    return visitor, advisor, chat, entry["seq"]


async def test_translate_a_visitors_message_and_a_draft(setup_queues: None, provider: TranslationServer) -> None:
    visitor, advisor, chat, seq = await _chat_in_polish(["en"])
    summary = await advisor.expect("conversation", conversation_id=chat)
    assert summary["translation"] is True

    result = await advisor.ok("translate", conversation_id=chat, seq=seq)
    assert result == {
        "text": POLISH_IN_ENGLISH,
        "source": "pl",
        "target": "en",
        "provider": "libretranslate",
    }
    draft = await advisor.ok("translate", conversation_id=chat, text="You are not alone.")
    assert draft["text"] == "[en->pl] You are not alone." and draft["target"] == "pl"
    # Nothing of it is stored, and the visitor sees nothing.
    assert not await Message.objects.filter(conversation_id=chat, text__contains="husband").aexists()
    await visitor.drain()
    assert not [m for m in visitor.inbox if "husband" in json.dumps(m)]
    assert [r["api_key"] for r in provider.requests] == [API_KEY, API_KEY]
    await visitor.close()
    await advisor.close()


async def test_translation_refusals(setup_queues: None, provider: TranslationServer, settings: Any) -> None:
    visitor, advisor, chat, seq = await _chat_in_polish(["en"])
    # The provider refuses the pair: its reason reaches the advisor.
    code = await advisor.request("translate", conversation_id=chat, seq=seq, target="cy")
    assert code["error"]["code"] == "translation_failed" and "not supported" in code["error"]["message"]
    # Neither or both of seq and text; a seq that is not a text entry; someone else's chat.
    assert await advisor.error("translate", conversation_id=chat) == "invalid"
    assert await advisor.error("translate", conversation_id=chat, seq=seq, text="x") == "invalid"
    assert await advisor.error("translate", conversation_id=chat, seq=1) == "not_found"
    assert await advisor.error("translate", conversation_id=chat, text="x" * 4001) == "text_too_long"
    other = await advisor_on_shift(await sync_to_async(factories.staff)())
    assert await other.error("translate", conversation_id=chat, seq=seq) == "not_found"
    # A wrong key, then a provider that is down.
    settings.TRANSLATION = {**settings.TRANSLATION, "API_KEY": "wrong"}
    failed = await advisor.request("translate", conversation_id=chat, seq=seq)
    assert failed["error"]["code"] == "translation_failed" and "API key" in failed["error"]["message"]
    settings.TRANSLATION = {**settings.TRANSLATION, "URL": "http://127.0.0.1:9"}
    assert await advisor.error("translate", conversation_id=chat, seq=seq) == "translation_failed"
    for socket in (visitor, advisor, other):
        await socket.close()


async def test_without_a_provider_the_advisor_is_told(setup_queues: None, settings: Any) -> None:
    settings.TRANSLATION = {"URL": "", "API_KEY": "", "TIMEOUT_SECONDS": 5.0}
    visitor, advisor, chat, seq = await _chat_in_polish(["en"])
    summary = await advisor.expect("conversation", conversation_id=chat)
    assert summary["translation"] is False
    assert await advisor.error("translate", conversation_id=chat, seq=seq) == "translation_unavailable"
    await visitor.close()
    await advisor.close()
