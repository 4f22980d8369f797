"""The staff socket (/ws/console/): advisors and supervisors. Thin: validate, call one service,
reply. Requires a signed-in staff session (closed with 4003 otherwise)."""

import time
from typing import Any
from uuid import UUID

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings

from agents import auth
from agents import services as staff_services
from agents.services import staff_group
from chat import blocks, outlets, selectors, translation
from chat.consumers.membership import ConversationMembership
from chat.engine import events, queueing
from chat.engine.socket import schedule_sweep
from chat.errors import ProtocolError
from chat.models import Conversation
from chat.protocol.staff import (
    AvailabilitySet,
    BlockLift,
    ConversationAccept,
    ConversationReassign,
    ConversationRequeue,
    ServicePause,
    StaffEnd,
    StaffHello,
    StaffMessageSend,
    StaffReceipt,
    StaffSync,
    StaffTyping,
    TransferOffer,
    TransferRespond,
    Translate,
    VisitorBlockRequest,
    staff_inbound,
)
from chat.services.handoff import (
    conversation_accept,
    conversation_end_staff,
    conversation_requeue,
    queue_take_next,
    transfer_offer,
    transfer_respond,
)
from chat.services.kernel import StaffActor, staff_actor
from chat.services.message import message_send_staff, staff_receipt, translation_job
from chat.services.notices import staff_state
from chat.services.staff import availability_set, staff_connect, staff_disconnect, staff_session_check
from chat.services.status import service_pause_set, service_status
from chat.services.supervision import conversation_reassign, supervise
from chat.services.sweeps import grace_sweep

HEARTBEAT_WRITE_INTERVAL = 20.0
ACTIVITY_WRITE_INTERVAL = 60.0


# Active staff, verified with a second factor, and not idle past the limit.
_session_allows = database_sync_to_async(auth.staff_session_allows)


@database_sync_to_async
def _touch_session(session: Any) -> None:
    auth.touch(session)
    session.save()


def _taken(take: Any, actor: StaffActor, **kwargs: Any) -> tuple[UUID, dict[str, Any]]:
    """A take (queue_take_next, conversation_accept), and the summary its reply carries, built
    from the row the take holds: read again in a call of its own, it was one more turn on the
    database thread for every take, while the other takes of the same moment waited."""
    conversation = take(actor=actor, **kwargs)
    summary = selectors.conversation_summary(conversation, for_user_id=actor.user_id, holder_name=actor.name)
    return conversation.pk, summary


class StaffConsumer(ConversationMembership):
    audience = "staff"
    inbound = staff_inbound
    handlers = {
        "hello": "on_hello",
        "sync": "on_sync",
        "availability.set": "on_availability",
        "queue.take_next": "on_take_next",
        "conversation.accept": "on_accept",
        "message.send": "on_message",
        "typing": "on_typing",
        "receipt": "on_receipt",
        "transfer.offer": "on_transfer_offer",
        "transfer.respond": "on_transfer_respond",
        "conversation.requeue": "on_requeue",
        "conversation.end": "on_end",
        "supervise.monitor": "on_monitor",
        "supervise.join": "on_join",
        "supervise.leave": "on_leave",
        "conversation.reassign": "on_reassign",
        "staff.list": "on_staff_list",
        "conversations.list": "on_conversations_list",
        "canned.list": "on_canned_list",
        "service.pause": "on_service_pause",
        "translate": "on_translate",
        "visitor.block": "on_block",
        "blocks.list": "on_blocks_list",
        "block.lift": "on_block_lift",
        "ping": "on_ping",
    }

    async def connect(self) -> None:
        self.actor: StaffActor | None = None
        self.roles: dict[UUID, str] = {}
        self.groups_joined: set[str] = set()
        self.watching: list[str] = []  # queue groups counted in chat.engine.queueing
        self.last_heartbeat = 0.0
        self.last_activity_write = 0.0
        self.catch_up_after_reply: UUID | None = None
        await super().connect()
        user = self.scope.get("user")
        session = self.scope.get("session")
        if user is None or not user.is_authenticated or session is None or not await _session_allows(session, user.pk):
            await self._close(4003)
            return
        try:
            self.actor = await events.database_call(staff_actor)(user_id=user.pk)
        except ProtocolError:
            await self._close(4003)
            return
        await events.database_call(staff_connect)(user_id=self.actor.user_id, channel_name=self.channel_name)
        self.last_heartbeat = time.monotonic()
        await self._join(staff_group(self.actor.user_id))
        if self.actor.is_supervisor:
            await self._join(events.SUPERVISORS_GROUP)

    async def disconnect(self, code: int) -> None:
        for group in self.watching:
            queueing.unwatch(group, self)
        self.watching.clear()
        self.drop_shared()
        for group in list(self.groups_joined):
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.actor is not None:
            last = await events.database_call(staff_disconnect)(
                user_id=self.actor.user_id, channel_name=self.channel_name
            )
            if last:
                schedule_sweep(float(settings.CHAT["ADVISOR_GRACE_SECONDS"]), grace_sweep)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.actor is not None and time.monotonic() - self.last_heartbeat > HEARTBEAT_WRITE_INTERVAL:
            self.last_heartbeat = time.monotonic()
            # Access is re-checked here too, for changes made outside the admin's hooks.
            if not await database_sync_to_async(staff_session_check)(
                session=self.scope["session"], user_id=self.actor.user_id, channel_name=self.channel_name
            ):
                await self._close(4010)
                self.count_frame(None, "session_ended")
                return
        await super().receive(text_data=text_data, bytes_data=bytes_data)

    async def after_reply(self, message: Any) -> None:
        # Anything but an idle ping counts as the person being at the console.
        if (message.type != "ping" or message.active) and (
            time.monotonic() - self.last_activity_write > ACTIVITY_WRITE_INTERVAL
        ):
            self.last_activity_write = time.monotonic()
            await _touch_session(self.scope["session"])
        await self._after_reply(message)

    # --- handlers -----------------------------------------------------------------------------

    async def on_ping(self, message: Any) -> None:
        return None

    async def on_hello(self, message: StaffHello) -> dict[str, Any]:
        if self.greeted:
            raise ProtocolError("already_said_hello")
        roles, queue_slugs, snapshots = await database_sync_to_async(selectors.console_hello_state)(
            user_id=self.me.user_id, is_supervisor=self.me.is_supervisor
        )
        await self.check_resume_points({c: seq for c, seq in message.last_seq.items() if c in roles})
        self.greeted = True
        for conversation_id, role in roles.items():
            await self._subscribe(conversation_id, role, message.last_seq.get(conversation_id, 0))
        for slug in queue_slugs:
            group = events.queue_group(slug)
            await queueing.watch(group, self)
            self.watching.append(group)
        self._hello_snapshots = snapshots
        state = await events.database_call(staff_state)(user_id=self.me.user_id)
        service = await events.database_call(service_status)()
        return {
            "protocol": 1,
            "user_id": self.me.user_id,
            "supervisor": self.me.is_supervisor,
            "state": state,
            "service": service,
        }

    async def _after_reply(self, message: Any) -> None:
        if self.catch_up_after_reply is not None:
            conversation_id, self.catch_up_after_reply = self.catch_up_after_reply, None
            await self.catch_up(conversation_id)
        if message.type == "hello":
            closed = await self._send_summaries(await self._summaries(list(self.roles)))
            snapshots, self._hello_snapshots = self._hello_snapshots, []
            for snapshot in snapshots:
                await self.send_json(snapshot)
            self.take_shared()  # changes since follow the snapshots above
            for conversation_id in list(self.roles):
                await self.catch_up(conversation_id)
            for conversation_id, last_seq in closed.items():
                await self._release_closed(conversation_id, last_seq)
        elif message.type == "sync":
            await self.catch_up(message.conversation_id)

    async def on_sync(self, message: StaffSync) -> dict[str, Any]:
        if message.conversation_id not in self.sent:
            raise ProtocolError("not_found")
        await self.check_resume_points({message.conversation_id: message.last_seq})
        self.sent[message.conversation_id] = message.last_seq
        return {"conversation_id": str(message.conversation_id)}

    async def on_availability(self, message: AvailabilitySet) -> dict[str, Any]:
        return await events.database_call(availability_set)(actor=self.me, availability=message.availability)

    async def _joined(self, conversation_id: UUID, role: str, summary: dict[str, Any] | None = None) -> dict[str, Any]:
        """Subscribe this socket at once (the layer's subscribe event follows for the others);
        the log follows the reply, so the console knows the conversation before its entries."""
        await self._subscribe(conversation_id, role)
        self.catch_up_after_reply = conversation_id
        if summary is None:
            summary = (await self._summaries([conversation_id]))[0]
        return {"conversation": summary}

    async def on_take_next(self, message: Any) -> dict[str, Any]:
        conversation_id, summary = await events.database_call(_taken)(queue_take_next, self.me)
        return await self._joined(conversation_id, "holder", summary)

    async def on_accept(self, message: ConversationAccept) -> dict[str, Any]:
        conversation_id, summary = await events.database_call(_taken)(
            conversation_accept, self.me, conversation_id=message.conversation_id
        )
        return await self._joined(conversation_id, "holder", summary)

    async def on_message(self, message: StaffMessageSend) -> dict[str, Any]:
        sent = await events.batched_database_call(message_send_staff)(
            actor=self.me,
            conversation_id=message.conversation_id,
            client_msg_id=message.client_msg_id,
            text=message.text,
            kind=message.kind,
        )
        return self.sent_result(sent)

    async def on_typing(self, message: StaffTyping) -> None:
        # Only someone speaking to the visitor shows as typing to them; in-memory roles are
        # enough here because nothing is stored and the visitor sees no name.
        if self.roles.get(message.conversation_id) not in ("holder", "participant"):
            raise ProtocolError("not_holder")
        sender_kind = "supervisor" if self.me.is_supervisor else "advisor"
        typing = {"conversation_id": str(message.conversation_id), "sender_kind": sender_kind, "active": message.active}
        await self.channel_layer.group_send(
            events.conv_visitor_group(message.conversation_id),
            {"type": "chat.typing", "typing": typing, "from": self.channel_name},
        )
        channel = selectors.channel_cached(message.conversation_id)
        if channel is None:
            channel = await database_sync_to_async(selectors.conversation_channel)(
                conversation_id=message.conversation_id
            )
        if channel != outlets.WEB:
            # The channel's outlet may speak to its API: off the event loop and the database thread.
            await sync_to_async(outlets.staff_typing, thread_sensitive=False)(
                channel=channel, conversation_id=message.conversation_id, active=message.active
            )

    async def on_receipt(self, message: StaffReceipt) -> None:
        await events.database_call(staff_receipt)(
            actor=self.me, conversation_id=message.conversation_id, seq=message.seq
        )

    async def on_transfer_offer(self, message: TransferOffer) -> dict[str, Any]:
        transfer = await events.database_call(transfer_offer)(
            actor=self.me, conversation_id=message.conversation_id, to_user_id=message.to_user_id, note=message.note
        )
        return {"transfer_id": transfer.pk, "state": transfer.state}

    async def on_transfer_respond(self, message: TransferRespond) -> dict[str, Any]:
        transfer = await events.database_call(transfer_respond)(
            actor=self.me, transfer_id=message.transfer_id, accept=message.accept
        )
        result: dict[str, Any] = {"transfer_id": transfer.pk, "state": transfer.state}
        if message.accept:
            conversation = await database_sync_to_async(Conversation.objects.get)(pk=transfer.conversation_id)
            result.update(await self._joined(conversation.pk, "holder"))
        return result

    async def on_requeue(self, message: ConversationRequeue) -> dict[str, Any]:
        conversation = await events.database_call(conversation_requeue)(
            actor=self.me, conversation_id=message.conversation_id, queue_slug=message.queue, note=message.note
        )
        return {"conversation_id": str(conversation.pk), "state": conversation.state}

    async def on_end(self, message: StaffEnd) -> dict[str, Any]:
        conversation = await events.database_call(conversation_end_staff)(
            actor=self.me, conversation_id=message.conversation_id, outcome=message.outcome
        )
        return {"conversation_id": str(conversation.pk), "state": conversation.state}

    async def _supervise(self, conversation_id: UUID, mode: str) -> dict[str, Any]:
        conversation = await events.database_call(supervise)(actor=self.me, conversation_id=conversation_id, mode=mode)
        if mode == "leave":
            await self._unsubscribe(conversation_id)
            return {"conversation_id": str(conversation_id)}
        return await self._joined(conversation.pk, "monitor" if mode == "monitor" else "participant")

    async def on_reassign(self, message: ConversationReassign) -> dict[str, Any]:
        conversation = await events.database_call(conversation_reassign)(
            actor=self.me, conversation_id=message.conversation_id, to_user_id=message.to_user_id, note=message.note
        )
        return {"conversation_id": str(conversation.pk), "holder_user_id": conversation.assigned_to_id}

    async def on_staff_list(self, message: Any) -> dict[str, Any]:
        return {"staff": await database_sync_to_async(selectors.staff_list)()}

    async def on_conversations_list(self, message: Any) -> dict[str, Any]:
        if not self.me.is_supervisor:
            raise ProtocolError("forbidden")
        return {"conversations": await database_sync_to_async(selectors.open_conversation_summaries)()}

    async def on_service_pause(self, message: ServicePause) -> dict[str, Any]:
        return await events.database_call(service_pause_set)(
            actor=self.me, paused=message.paused, message=message.message
        )

    async def on_translate(self, message: Translate) -> dict[str, Any]:
        job = await events.database_call(translation_job)(
            actor=self.me,
            conversation_id=message.conversation_id,
            seq=message.seq,
            text=message.text,
            target=message.target,
        )
        return await translation.translate_reply(text=job.text, source=job.source, target=job.target)

    async def on_block(self, message: VisitorBlockRequest) -> dict[str, Any]:
        block = await events.database_call(blocks.visitor_block)(
            actor=self.me,
            conversation_id=message.conversation_id,
            hours=message.hours,
            reason=message.reason,
            note=message.note,
            connection=message.connection,
        )
        return {"block": await database_sync_to_async(blocks.block_read)(block_id=block.pk)}

    async def on_blocks_list(self, message: Any) -> dict[str, Any]:
        return {"blocks": await database_sync_to_async(blocks.blocks_for_review)(actor=self.me)}

    async def on_block_lift(self, message: BlockLift) -> dict[str, Any]:
        block = await events.database_call(blocks.block_lift)(
            actor=self.me, block_id=message.block_id, note=message.note
        )
        return {"block": await database_sync_to_async(blocks.block_read)(block_id=block.pk)}

    async def on_canned_list(self, message: Any) -> dict[str, Any]:
        return {"responses": await database_sync_to_async(staff_services.canned_responses)(user_id=self.me.user_id)}

    async def on_monitor(self, message: Any) -> dict[str, Any]:
        return await self._supervise(message.conversation_id, "monitor")

    async def on_join(self, message: Any) -> dict[str, Any]:
        return await self._supervise(message.conversation_id, "join")

    async def on_leave(self, message: Any) -> dict[str, Any]:
        return await self._supervise(message.conversation_id, "leave")

    # --- layer events -------------------------------------------------------------------------

    async def chat_transfer_offered(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "transfer.offered", **event["offer"]})

    async def chat_transfer_result(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "transfer.result", **event["result"]})

    async def chat_staff_state(self, event: dict[str, Any]) -> None:
        await self.send_json(event["state"])

    async def chat_service_status(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "service.status", **event["status"]})

    async def chat_referral(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "referral", "overdue": False, **event["referral"]})

    async def chat_block(self, event: dict[str, Any]) -> None:
        await self.send_json(event["notice"])

    async def chat_force_close(self, event: dict[str, Any]) -> None:
        await self._close(4010)
