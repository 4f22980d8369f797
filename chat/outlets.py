"""Outlets: how entries reach a visitor who came in through another channel than the widget.

A web visitor's socket takes its entries from the channel layer and the log. A visitor on a
messaging channel (Telegram, later SMS or WhatsApp) has no socket: the app that speaks that
channel registers an outlet here, in its AppConfig.ready, and is told after commit that a
conversation of its channel has new entries for the visitor. The outlet only starts delivery
(a Celery task); what to send and how far it got is its own business, read from the log.

chat never imports the channel apps: they depend on chat, and this registry is the one hook.
"""

from collections.abc import Callable
from uuid import UUID

from django.db import transaction
from django.utils.module_loading import import_string

WEB = "web"

# channel name -> called with the conversation's id, after commit
Outlet = Callable[[UUID], None]
# channel name -> called with the conversation's id and whether staff are typing
TypingOutlet = Callable[[UUID, bool], None]

# Dotted paths, registered from AppConfig.ready (before the apps' modules may be imported),
# resolved on first use.
_outlets: dict[str, str] = {}
_typing: dict[str, str] = {}


def outlet_register(channel: str, outlet: str, *, typing: str | None = None) -> None:
    """`outlet`, `typing`: dotted paths of an Outlet and a TypingOutlet."""
    if channel == WEB:
        raise ValueError("The widget's visitors have their own socket.")
    _outlets[channel] = outlet
    if typing is not None:
        _typing[channel] = typing


def channels() -> list[str]:
    """The ways in: the widget, then every registered channel."""
    return [WEB, *sorted(_outlets)]


def entry_for_visitor(*, channel: str, conversation_id: UUID) -> None:
    """A public entry was appended to a conversation of `channel`: its outlet is told after
    the transaction commits (never for a row the visitor could not yet read)."""
    path = _outlets.get(channel)
    if channel == WEB or path is None:
        return
    outlet: Outlet = import_string(path)
    transaction.on_commit(lambda: outlet(conversation_id))


def staff_typing(*, channel: str, conversation_id: UUID, active: bool) -> None:
    path = _typing.get(channel)
    if path is not None:
        outlet: TypingOutlet = import_string(path)
        outlet(conversation_id, active)
