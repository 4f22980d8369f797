"""The parts of a Telegram update the bot reads, as pydantic schemas, and the minimal form it
stores. Telegram adds fields over time, so unknown ones are ignored, not refused; they are never
stored either: no name, username, photo or phone number is kept."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_TEXT = 4096  # Telegram's own limit on a message's text


class Incoming(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Chat(Incoming):
    id: int
    type: str


class User(Incoming):
    id: int
    is_bot: bool = False
    language_code: str | None = Field(None, max_length=35)


class Message(Incoming):
    message_id: int
    date: int
    chat: Chat
    sender: User | None = Field(None, alias="from")
    text: str | None = Field(None, max_length=MAX_TEXT)


class CallbackQuery(Incoming):
    id: str = Field(max_length=100)
    sender: User = Field(alias="from")
    message: Message | None = None
    data: str | None = Field(None, max_length=64)


class MemberStatus(Incoming):
    status: str


class ChatMemberUpdated(Incoming):
    chat: Chat
    new_chat_member: MemberStatus


class Update(Incoming):
    update_id: int = Field(ge=0)
    message: Message | None = None
    callback_query: CallbackQuery | None = None
    my_chat_member: ChatMemberUpdated | None = None


Kind = Literal["message", "callback", "blocked", "other"]


class Stored(BaseModel):
    """What is kept of an update until it is processed (then only its id and kind stay)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind
    chat_id: int | None = None
    message_id: int | None = None
    date: int | None = None
    text: str | None = None
    callback_id: str | None = None
    data: str | None = None
    language: str = ""


def minimal(update: Update) -> Stored:
    """The update as the bot needs it. Only private chats with a person are served: a group, a
    channel or another bot gets nothing."""
    message = update.message
    if message is not None and message.chat.type == "private" and not (message.sender and message.sender.is_bot):
        return Stored(
            kind="message",
            chat_id=message.chat.id,
            message_id=message.message_id,
            date=message.date,
            text=message.text,
            language=(message.sender.language_code or "") if message.sender else "",
        )
    callback = update.callback_query
    if callback is not None and callback.message is not None and callback.message.chat.type == "private":
        return Stored(
            kind="callback",
            chat_id=callback.message.chat.id,
            message_id=callback.message.message_id,
            callback_id=callback.id,
            data=callback.data,
            language=callback.sender.language_code or "",
        )
    member = update.my_chat_member
    if member is not None and member.chat.type == "private" and member.new_chat_member.status == "kicked":
        return Stored(kind="blocked", chat_id=member.chat.id)
    return Stored(kind="other")


def stored_form(payload: dict[str, Any]) -> Stored:
    return Stored.model_validate(payload)
