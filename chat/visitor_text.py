"""What the visitor's page says in states and errors, in the active language.

The socket's error messages are written for developers ("answers.about: ..."); a visitor never
reads them. The page turns each error code it can meet into one of these plain sentences."""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop


def strings() -> dict[str, str]:
    return {
        "no_estimate": _("We can't say how long the wait will be."),
        "staffed_again": _("An advisor is available now."),
        "leaving_queue": _("Leaving the queue…"),
        "error_text_too_long": _("Your message is too long. Please split it into shorter messages."),
        "error_rate_limited": _("You are sending messages very quickly. Please wait a moment and try again."),
        "error_chat_ended": _("This chat has already ended."),
        "error_not_sent": _("Your message could not be sent. Please try again."),
        "error_answers": _("Some answers could not be used. Please check them and try again."),
        "error_language": _("That language is not available for this chat."),
        "error_directory": _("The list of services could not be loaded just now. Please try again."),
    }


def launcher_label(language: str) -> str:
    """The widget's launcher button, in the host page's language when the widget offers it."""
    offered = {code for code, _name in settings.LANGUAGES}
    with translation.override(language if language in offered else settings.LANGUAGE_CODE):
        return _("Chat")


# Marked for the catalogue here (makemessages reads only literal strings); translated when shown.
DEFAULT_PAUSE_MESSAGE = gettext_noop(
    "We cannot start new chats just now because we are very busy. Please try again a little later. "
    "If you are in danger now, call 999."
)


def pause_message(message: str, language: str | None) -> str:
    """What a visitor reads while new chats are paused: the supervisor's own words as written, or,
    when they wrote none, the default in the visitor's language."""
    if message != DEFAULT_PAUSE_MESSAGE or not language:
        return message
    with translation.override(language):
        return _(DEFAULT_PAUSE_MESSAGE)
