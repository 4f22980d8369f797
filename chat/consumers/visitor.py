"""The visitor socket (/ws/visitor/). Thin: validate, call one service, reply."""

import logging
from typing import Any
from uuid import UUID

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings

from chat import blocks, directory, feedback, language, selectors, triage
from chat.engine import events, presence
from chat.engine.socket import ProtocolConsumer, schedule_sweep
from chat.errors import ProtocolError
from chat.models import Conversation
from chat.protocol.visitor import (
    ConversationStart,
    DirectoryLookup,
    Feedback,
    LanguageSet,
    TriageFlow,
    TriageSubmit,
    VisitorHello,
    VisitorMessageSend,
    VisitorReceipt,
    VisitorSync,
    VisitorTyping,
    visitor_inbound,
)
from chat.services.message import (
    conversation_language_detected,
    conversation_language_set,
    message_send_visitor,
    visitor_receipt,
)
from chat.services.sweeps import grace_sweep
from chat.services.visitor import conversation_end_visitor, triage_submit, visitor_disconnect

logger = logging.getLogger(__name__)


@database_sync_to_async
def _status(conversation_id: UUID) -> dict[str, Any]:
    return selectors.visitor_status(Conversation.objects.select_related("assigned_to__staff").get(pk=conversation_id))


class VisitorConsumer(ProtocolConsumer):
    audience = "visitor"
    inbound = visitor_inbound
    # Public information, for someone the chat cannot take (a block) as much as for anyone.
    before_hello = ("hello", "ping", "triage.flow", "directory.lookup")
    handlers = {
        "hello": "on_hello",
        "conversation.start": "on_start",
        "triage.flow": "on_flow",
        "directory.lookup": "on_directory",
        "triage.submit": "on_triage",
        "message.send": "on_message",
        "typing": "on_typing",
        "receipt": "on_receipt",
        "sync": "on_sync",
        "conversation.end": "on_end",
        "language.set": "on_language_set",
        "quick_exit": "on_quick_exit",
        "feedback": "on_feedback",
        "ping": "on_ping",
    }

    visitor_id: UUID | None = None
    conversation_id: UUID | None = None
    detect_after_reply: tuple[UUID, str] | None = None

    async def connect(self) -> None:
        # Names this process, so the grace sweep can tell when a process died with its sockets.
        self.conn_id = presence.connection_id()
        presence.ensure_heartbeat()
        await super().connect()

    async def disconnect(self, code: int) -> None:
        if self.conversation_id is not None:
            await self.channel_layer.group_discard(events.conv_visitor_group(self.conversation_id), self.channel_name)
        if self.visitor_id is not None:
            started = await events.database_call(visitor_disconnect)(visitor_id=self.visitor_id, conn_id=self.conn_id)
            if started:
                schedule_sweep(float(settings.CHAT["VISITOR_GRACE_SECONDS"]), grace_sweep)

    @property
    def address(self) -> str | None:
        """The connection's address: only ever hashed with a daily key (chat/blocks.py), never
        stored or logged. Behind the proxy it is the one the proxy names (daphne's
        --proxy-headers, deploy/)."""
        client = self.scope.get("client")
        return str(client[0]) if client else None

    async def _follow(self, conversation_id: UUID, last_seq: int) -> None:
        if self.conversation_id is not None and self.conversation_id != conversation_id:
            await self.channel_layer.group_discard(events.conv_visitor_group(self.conversation_id), self.channel_name)
            self.sent.pop(self.conversation_id, None)
        self.conversation_id = conversation_id
        self.sent[conversation_id] = last_seq
        await self.channel_layer.group_add(events.conv_visitor_group(conversation_id), self.channel_name)

    # --- handlers -----------------------------------------------------------------------------

    async def on_ping(self, message: Any) -> None:
        return None

    async def on_hello(self, message: VisitorHello) -> dict[str, Any]:
        if self.greeted:
            raise ProtocolError("already_said_hello")
        greeting = await events.database_call(blocks.visitor_hello)(
            token=message.token, conn_id=self.conn_id, language=message.language, address=self.address
        )
        result: dict[str, Any] = {"protocol": 1}
        if greeting.token is not None:
            result["token"] = greeting.token
        self.visitor_id = greeting.visitor_id  # connected now: its disconnect must be recorded
        conversation_id = greeting.conversation_id
        if conversation_id is not None:
            await self.check_resume_points({conversation_id: message.last_seq})
        self.greeted = True
        result["conversation_id"] = str(conversation_id) if conversation_id else None
        result["service"] = greeting.service
        if conversation_id is not None:
            await self._follow(conversation_id, message.last_seq)
            result["status"] = await _status(conversation_id)
        return result

    async def after_reply(self, message: Any) -> None:
        if message.type in ("hello", "sync", "conversation.start") and self.conversation_id is not None:
            await self.catch_up(self.conversation_id)
        if self.detect_after_reply is not None:
            conversation_id, text = self.detect_after_reply
            self.detect_after_reply = None
            # After the acknowledgement, and on a thread of its own: CPU work that must not hold
            # up the reply or Channels' one database thread.
            try:
                detected = await sync_to_async(language.detect, thread_sensitive=False)(text)
                await events.database_call(conversation_language_detected)(
                    conversation_id=conversation_id, language=detected
                )
            except Exception:
                # A suggestion only: the chat goes on without it. Never log the text.
                logger.exception("visitor socket: language detection failed")

    async def on_start(self, message: ConversationStart) -> dict[str, Any]:
        assert self.visitor_id is not None
        conversation = await events.database_call(blocks.conversation_start)(
            visitor_id=self.visitor_id, conn_id=self.conn_id, language=message.language, address=self.address
        )
        await self._follow(conversation.pk, 0)
        return {"conversation_id": str(conversation.pk)}

    async def on_flow(self, message: TriageFlow) -> dict[str, Any]:
        questions = await database_sync_to_async(triage.triage_flow)(language=message.language)
        return {"questions": [q.as_dict() for q in questions], "emergency_number": settings.CHAT["EMERGENCY_NUMBER"]}

    async def on_directory(self, message: DirectoryLookup) -> dict[str, Any]:
        return await database_sync_to_async(directory.directory_lookup)(
            region=message.region, language=message.language
        )

    async def on_triage(self, message: TriageSubmit) -> dict[str, Any]:
        assert self.visitor_id is not None
        conversation = await events.database_call(triage_submit)(
            visitor_id=self.visitor_id, answers=dict(message.answers), conversation_id=self.conversation_id
        )
        return {"status": await _status(conversation.pk)}

    async def on_message(self, message: VisitorMessageSend) -> dict[str, Any]:
        assert self.visitor_id is not None
        sent = await events.batched_database_call(message_send_visitor)(
            visitor_id=self.visitor_id,
            client_msg_id=message.client_msg_id,
            text=message.text,
            conversation_id=self.conversation_id,
        )
        if sent.detect_language:
            self.detect_after_reply = (sent.message.conversation_id, message.text)
        return self.sent_result(sent)

    async def on_language_set(self, message: LanguageSet) -> dict[str, Any]:
        assert self.visitor_id is not None
        conversation = await events.database_call(conversation_language_set)(
            visitor_id=self.visitor_id, language=message.language
        )
        return {"conversation_id": str(conversation.pk), "language": conversation.language}

    async def on_typing(self, message: VisitorTyping) -> None:
        if self.conversation_id is None:
            raise ProtocolError("no_conversation")
        typing = {"conversation_id": str(self.conversation_id), "sender_kind": "visitor", "active": message.active}
        await self.channel_layer.group_send(
            events.conv_staff_group(self.conversation_id),
            {"type": "chat.typing", "typing": typing, "from": self.channel_name},
        )

    async def on_receipt(self, message: VisitorReceipt) -> None:
        assert self.visitor_id is not None
        await events.database_call(visitor_receipt)(visitor_id=self.visitor_id, seq=message.seq, status=message.status)

    async def on_sync(self, message: VisitorSync) -> dict[str, Any]:
        if self.conversation_id is None:
            raise ProtocolError("no_conversation")
        await self.check_resume_points({self.conversation_id: message.last_seq})
        self.sent[self.conversation_id] = message.last_seq
        return {"conversation_id": str(self.conversation_id)}

    async def on_end(self, message: Any) -> dict[str, Any]:
        return await self._end(quick_exit=False)

    async def on_quick_exit(self, message: Any) -> dict[str, Any]:
        return await self._end(quick_exit=True)

    async def on_feedback(self, message: Feedback) -> dict[str, Any]:
        assert self.visitor_id is not None
        await events.database_call(feedback.feedback_record)(visitor_id=self.visitor_id, answer=message.answer)
        return {"answer": message.answer}

    async def _end(self, *, quick_exit: bool) -> dict[str, Any]:
        assert self.visitor_id is not None
        conversation = await events.database_call(conversation_end_visitor)(
            visitor_id=self.visitor_id, quick_exit=quick_exit
        )
        return {"conversation_id": str(conversation.pk), "state": conversation.state}

    # --- layer events -------------------------------------------------------------------------

    async def chat_blocked(self, event: dict[str, Any]) -> None:
        """Staff blocked this visitor: told as neutrally as at `hello`, before their chat's end;
        nothing more of the chat follows. The socket stays open for the directory."""
        if self.conversation_id is not None:
            await self.channel_layer.group_discard(events.conv_visitor_group(self.conversation_id), self.channel_name)
            self.sent.pop(self.conversation_id, None)
            self.conversation_id = None
        await self.reply_error(None, "unavailable", blocks.UNAVAILABLE)

    async def chat_status(self, event: dict[str, Any]) -> None:
        status = event["status"]
        if self.conversation_id is not None and UUID(status["conversation_id"]) == self.conversation_id:
            await self.send_json(status)
