"""The bot's side of a conversation: one stored update at a time, for the chat's open link, in
the caller's transaction (messenger.telegram.inbound orders them). It calls the same services as
the widget's socket (chat.blocks, chat.services.visitor, chat.services.message), so a Telegram
visitor's chat behaves as a web one; what it says goes into the link's outbox.

The flow: the notice (what Telegram keeps, /exit), then out of hours or paused the information
and nothing queued; otherwise the triage questions as buttons (an 'emergency' answer gives the
emergency number at once), then "talk to someone" (the queue, with the place in it) or the
services near the visitor; then the chat. /exit at any point ends the chat as the widget's quick
exit does and deletes the chat's messages."""

import contextlib
import time

from django.conf import settings
from django.core.cache import cache
from django.utils import translation

from chat import blocks, hours, triage, visitor_text
from chat.errors import ProtocolError
from chat.services.message import message_send_visitor
from chat.services.status import service_status
from chat.services.visitor import conversation_end_visitor, triage_submit, visitor_create
from messenger.models import TelegramChat
from messenger.telegram import info, outbox, refusals
from messenger.telegram.schemas import Stored
from messenger.telegram.texts import text

Phase = TelegramChat.Phase
OPEN_PHASES = (Phase.TRIAGE, Phase.OPTIONS, Phase.CHAT)
CONN = "telegram"  # the conversation's visitor_conn: no socket, no process to watch


def open_link(chat_id: int) -> TelegramChat | None:
    return TelegramChat.objects.select_for_update().filter(chat_id=chat_id, phase__in=OPEN_PHASES).first()


def command(stored: Stored) -> str:
    """'/exit' for '/exit', '/EXIT@SomeBot' and '/exit now'; '' for anything else."""
    if stored.kind != "message" or not stored.text or not stored.text.startswith("/"):
        return ""
    return stored.text.split()[0].split("@")[0].lower()


def update_handle(stored: Stored, *, update_id: int) -> int | None:
    """Act on one update; returns the id of the link that has something to send, if any."""
    if stored.kind == "other" or stored.chat_id is None:
        return None
    link = open_link(stored.chat_id)
    if stored.kind == "blocked":
        if link is not None:
            refusals.link_unreachable(link, reason="The visitor blocked the Telegram bot.")
        return link.pk if link else None
    if command(stored) != "/exit" and _flooding(stored.chat_id):
        return _refused_for_flooding(link, stored)
    if link is None:
        link = TelegramChat.objects.create(chat_id=stored.chat_id, language=_language(stored.language))
        if stored.kind == "message":
            outbox.message_seen(link, message_id=int(stored.message_id or 0), at=stored.date)
        else:  # a button of a chat that has ended: answered, and the visitor starts afresh
            outbox.answer(link, callback_id=str(stored.callback_id))
        if command(stored) == "/exit":
            outbox.exit_now(link)
        else:
            _start(link)
        return link.pk
    if stored.kind == "message":
        outbox.message_seen(link, message_id=int(stored.message_id or 0), at=stored.date)
        if command(stored) == "/exit":
            quick_exit(link)
        elif command(stored) == "/start" or link.phase != Phase.CHAT:
            _ask_again(link)
        else:
            _text(link, stored, update_id=update_id)
    elif stored.kind == "callback":
        outbox.answer(link, callback_id=str(stored.callback_id))
        _button(link, data=stored.data or "", message_id=int(stored.message_id or 0))
    return link.pk


def _flooding(chat_id: int) -> bool:
    """More than UPDATES_PER_MINUTE from one Telegram account in a minute, counted in the cache
    under the keyed, daily-rotating hash of chat.blocks (never the id itself)."""
    hashed = blocks.connection_hashes(f"telegram:{chat_id}")[0]
    key = f"telegram:rate:{hashed}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: a new minute
        return False
    return count > int(settings.TELEGRAM["UPDATES_PER_MINUTE"])


def _refused_for_flooding(link: TelegramChat | None, stored: Stored) -> int | None:
    """Too many: not acted on; the visitor is told, once a minute, to slow down and send again.
    Their message is still deleted by /exit."""
    if link is None:
        return None
    if stored.kind == "message":
        outbox.message_seen(link, message_id=int(stored.message_id or 0), at=stored.date)
    else:
        outbox.answer(link, callback_id=str(stored.callback_id))
    if cache.add(f"telegram:rate-told:{link.pk}", 1, timeout=60):
        with translation.override(link.language or settings.LANGUAGE_CODE):
            outbox.send(link, visitor_text.strings()["error_rate_limited"])
    return link.pk


def _language(code: str) -> str:
    """The visitor's Telegram language, when the service offers it."""
    base = code.split("-")[0].lower()
    return base if base in triage.offered_languages() else settings.LANGUAGE_CODE


def _start(link: TelegramChat) -> None:
    language = link.language
    outbox.send(link, text("notice", language))
    status = service_status()
    if status["paused"]:
        outbox.send(link, visitor_text.pause_message(status["message"], language) or text("paused", language))
        outbox.send(link, text("emergency", language))
        outbox.finish(link)
        return
    if not hours.is_open():
        outbox.send(link, info.closed(language=language))
        outbox.finish(link)
        return
    visitor, _token = visitor_create(language=language)  # the token is never needed: no socket
    address = f"telegram:{link.chat_id}"  # only ever hashed with a daily key (chat.blocks)
    try:
        conversation = blocks.conversation_start(
            visitor_id=visitor.pk, conn_id=CONN, language=language, address=address, channel="telegram"
        )
    except ProtocolError as refused:
        outbox.send(link, text("unavailable" if refused.code == "unavailable" else "paused", language))
        outbox.send(link, info.services(region="", language=language))
        outbox.finish(link)
        return
    blocks.connection_remember(visitor_id=visitor.pk, address=address)
    link.conversation = conversation
    link.save(update_fields=["conversation"])
    outbox.log_sync(link)
    _ask(link)


def _flow(link: TelegramChat) -> list[triage.Question]:
    return triage.triage_flow(language=link.language)


def _ask(link: TelegramChat) -> None:
    """The current question, or the options once every question is answered."""
    flow = _flow(link)
    if link.step >= len(flow):
        link.phase = Phase.OPTIONS
        link.save(update_fields=["phase"])
        buttons = [
            [{"text": text("talk", link.language), "data": "o:talk"}],
            [{"text": text("services", link.language), "data": "o:services"}],
        ]
        outbox.send(link, text("options", link.language), buttons=buttons)
        return
    question = flow[link.step]
    outbox.send(link, _prompt(question), buttons=_keyboard(link, question))


def _prompt(question: triage.Question) -> str:
    return f"{question.prompt}\n{question.help_text}" if question.help_text else question.prompt


def _keyboard(link: TelegramChat, question: triage.Question) -> outbox.Buttons:
    chosen = link.answers.get(question.key) or []
    rows = []
    for index, option in enumerate(question.options):
        mark = "✓ " if question.multiple and option.value in chosen else ""
        rows.append([{"text": f"{mark}{option.label}", "data": f"a:{link.step}:{index}"}])
    if question.multiple:
        rows.append([{"text": text("done", link.language), "data": f"d:{link.step}"}])
    elif not question.required:
        rows.append([{"text": text("skip", link.language), "data": f"s:{link.step}"}])
    return rows


def _ask_again(link: TelegramChat) -> None:
    if link.phase == Phase.CHAT:
        return  # /start in a chat: nothing to repeat
    outbox.send(link, text("choose", link.language))
    _ask(link)


def _button(link: TelegramChat, *, data: str, message_id: int) -> None:
    """A press of one of the bot's buttons. A stale one (an earlier question's, or one of a
    finished step) is answered and otherwise ignored."""
    kind, _, rest = data.partition(":")
    if kind == "o" and link.phase == Phase.OPTIONS:
        _option(link, rest)
        return
    step_text, _, index_text = rest.partition(":")
    if link.phase != Phase.TRIAGE or not step_text.isdigit() or int(step_text) != link.step:
        return
    flow = _flow(link)
    if link.step >= len(flow):
        return
    question = flow[link.step]
    if kind == "a" and index_text.isdigit() and int(index_text) < len(question.options):
        option = question.options[int(index_text)]
        if question.multiple:
            chosen = list(link.answers.get(question.key) or [])
            chosen = [v for v in chosen if v != option.value] if option.value in chosen else [*chosen, option.value]
            link.answers = {**link.answers, question.key: chosen}
            link.save(update_fields=["answers"])
            outbox.edit(link, message_id=message_id, message=_prompt(question), buttons=_keyboard(link, question))
            return
        link.answers = {**link.answers, question.key: option.value}
        if question.role == triage.Role.LANGUAGE:
            link.language = option.value
        outbox.edit(link, message_id=message_id, message=f"{_prompt(question)}\n→ {option.label}")
        if option.emergency:
            outbox.send(link, text("emergency", link.language))
    elif kind == "d" and question.multiple:
        if question.required and not link.answers.get(question.key):
            return
        labels = [o.label for o in question.options if o.value in (link.answers.get(question.key) or [])]
        outbox.edit(link, message_id=message_id, message=f"{_prompt(question)}\n→ {', '.join(labels) or '-'}")
    elif kind == "s" and not question.required:
        outbox.edit(link, message_id=message_id, message=f"{_prompt(question)}\n→ -")
    else:
        return
    link.step += 1
    link.save(update_fields=["answers", "language", "step"])
    _ask(link)


def _option(link: TelegramChat, choice: str) -> None:
    if choice == "services":
        region = next((v for k, v in link.answers.items() if _role(link, k) == triage.Role.REGION), "")
        outbox.send(link, info.services(region=str(region), language=link.language))
        _ask(link)
        return
    if choice != "talk" or link.conversation is None:
        return
    try:
        triage_submit(
            visitor_id=link.conversation.visitor_id, answers=link.answers, conversation_id=link.conversation_id
        )
    except ProtocolError as refused:
        if refused.code in ("triage_incomplete", "invalid"):  # the flow changed meanwhile: ask again
            link.phase, link.step, link.answers = Phase.TRIAGE, 0, {}
            link.save(update_fields=["phase", "step", "answers"])
            _ask(link)
            return
        raise
    link.phase = Phase.CHAT
    link.save(update_fields=["phase"])
    outbox.log_sync(link)


def _role(link: TelegramChat, key: str) -> str:
    return next((q.role for q in _flow(link) if q.key == key), "")


def _text(link: TelegramChat, stored: Stored, *, update_id: int) -> None:
    """The visitor's message into their chat; longer than the chat takes, in parts, none lost."""
    if not stored.text:
        outbox.send(link, text("text_only", link.language))
        return
    assert link.conversation is not None
    limit = int(settings.CHAT["MAX_TEXT_CHARS"])
    parts = [stored.text[i : i + limit] for i in range(0, len(stored.text), limit)]
    for number, part in enumerate(parts):
        client_msg_id = f"tg-{update_id}" if number == 0 else f"tg-{update_id}-{number}"
        try:
            message_send_visitor(
                visitor_id=link.conversation.visitor_id,
                client_msg_id=client_msg_id,
                text=part,
                conversation_id=link.conversation_id,
            )
        except ProtocolError:  # the chat ended just before: say so (its end is on its way too)
            with translation.override(link.language or settings.LANGUAGE_CODE):
                outbox.send(link, visitor_text.strings()["error_chat_ended"])
            return


def quick_exit(link: TelegramChat) -> None:
    """/exit: the same service call as the widget's quick exit (the advisor is told), then every
    message of the chat the Bot API still lets the bot delete is deleted, and nothing more is
    said."""
    outbox.exit_now(link)
    conversation = link.conversation
    if conversation is not None:
        with contextlib.suppress(ProtocolError):  # already ended: the deletion still goes ahead
            conversation_end_visitor(visitor_id=conversation.visitor_id, quick_exit=True)
