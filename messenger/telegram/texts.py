"""What the bot says. Neutral on purpose: someone who looks at the visitor's phone sees a chat
with a bot, and nothing here names the service or what it is for. A deployment replaces any of
them by key (settings.TELEGRAM["TEXTS"]); `{emergency}` is the emergency number."""

from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_noop

from chat import widget
from chat.models import Message

DEFAULTS: dict[str, str] = {
    "notice": gettext_noop(
        "Before we start: Telegram keeps this conversation in the app on your phone and on any other "
        "device signed in to your account. To remove it, send /exit at any time: the chat ends and "
        "the messages are deleted from this chat where Telegram allows it. You can also delete the "
        "chat yourself (press and hold it in your chat list, then Delete)."
    ),
    "emergency": gettext_noop("If you are in danger now, call {emergency}."),
    "choose": gettext_noop("Please use the buttons above to answer."),
    "skip": gettext_noop("Skip"),
    "done": gettext_noop("Done"),
    "options": gettext_noop("Thank you. What would you like to do?"),
    "talk": gettext_noop("Talk to someone"),
    "services": gettext_noop("Services near me"),
    "queued": gettext_noop("You are number {position} in the queue."),
    "wait": gettext_noop("The wait is about {minutes} minutes."),
    "no_estimate": gettext_noop("We can't say how long the wait will be."),
    "still_waiting": gettext_noop("You are still in the queue: number {position}."),
    "closed": gettext_noop("We are closed just now. Opening hours:"),
    "closed_emergency": gettext_noop("If you are in danger now, call {emergency}."),
    "paused": gettext_noop("We cannot start new chats just now. Please try again a little later."),
    "unavailable": gettext_noop("The chat is not available right now. Please try again later."),
    "text_only": gettext_noop("Only text messages can be sent here."),
    "ended": gettext_noop(
        "To remove this conversation from Telegram, delete the chat in the app. Send any message to start again."
    ),
    "national": gettext_noop("National lines:"),
    "local": gettext_noop("Near you:"),
    "no_services": gettext_noop("No services are listed for this area yet."),
    "open_24h": gettext_noop("open 24 hours"),
}


def text(key: str, language: str = "", **values: object) -> str:
    """The text in the visitor's language: the deployment's own wording as written, else the
    default, translated where a translation exists."""
    own = settings.TELEGRAM["TEXTS"].get(key)
    if own:
        wording = str(own)
    else:
        with translation.override(language or settings.LANGUAGE_CODE):
            wording = translation.gettext(DEFAULTS[key])
    return wording.format(emergency=settings.CHAT["EMERGENCY_NUMBER"], **values)


def entry_text(entry: Message, language: str = "") -> str:
    """A conversation's entry as the visitor reads it. Events are worded in the visitor's language
    as the widget words them (chat/static/visitor/conversation.js): the entry's own text is the
    staff's wording, in the log's language. A message is the advisor's text as written."""
    if entry.kind != Message.Kind.EVENT:
        return entry.text
    public: dict[str, Any] = (entry.data or {}).get("public", {})
    with translation.override(language or settings.LANGUAGE_CODE):
        words = widget.strings()
    match entry.event:
        case "queued" | "requeued" | "supervisor_left" | "closed":
            return words[entry.event]
        case "assigned":
            return words["assigned"] % {"name": public.get("advisor_name") or entry.sender_name}
        case "transferred" if public.get("advisor_name"):
            return words["transferred"] % {"name": public["advisor_name"]}
        case "supervisor_joined":
            return words["supervisor_joined"] % {"name": public.get("name", "")}
    return entry.text
