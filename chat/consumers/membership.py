"""The console socket's part in each conversation it follows: its role there, its membership of
the conversation's group on the channel layer and (in the engine's `sent`) how far its log has
been sent. Joined by a reply or by another tab's notice, left when the person leaves the chat or
the chat closes: a console open for a whole shift keeps nothing of the chats it no longer has."""

from typing import Any
from uuid import UUID

from channels.db import database_sync_to_async

from chat import selectors
from chat.engine import events
from chat.engine.socket import ProtocolConsumer
from chat.models import Conversation
from chat.services.kernel import StaffActor


class ConversationMembership(ProtocolConsumer):
    actor: StaffActor | None
    roles: dict[UUID, str]
    groups_joined: set[str]

    async def _join(self, group: str) -> None:
        if group not in self.groups_joined:
            self.groups_joined.add(group)
            await self.channel_layer.group_add(group, self.channel_name)

    async def _leave(self, group: str) -> None:
        if group in self.groups_joined:
            self.groups_joined.discard(group)
            await self.channel_layer.group_discard(group, self.channel_name)

    @property
    def me(self) -> StaffActor:
        assert self.actor is not None
        return self.actor

    async def _summaries(self, conversation_ids: list[UUID]) -> list[dict[str, Any]]:
        read = database_sync_to_async(selectors.conversation_summaries)
        return await read(conversation_ids=conversation_ids, user_id=self.me.user_id)

    async def _subscribe(self, conversation_id: UUID, role: str, last_seq: int = 0) -> None:
        self.roles[conversation_id] = role
        self.sent.setdefault(conversation_id, last_seq)
        await self._join(events.conv_staff_group(conversation_id))

    async def _unsubscribe(self, conversation_id: UUID) -> None:
        self.roles.pop(conversation_id, None)
        self.sent.pop(conversation_id, None)
        await self._leave(events.conv_staff_group(conversation_id))

    async def _send_summaries(self, summaries: list[dict[str, Any]]) -> dict[UUID, int]:
        """Sends the conversations' summaries (read after this socket joined their groups); those
        that closed before it joined (it missed the closing broadcast), with their last sequence
        number."""
        closed = {}
        for summary in summaries:
            await self.send_json(summary)
            if summary["state"] == Conversation.State.CLOSED:
                closed[UUID(summary["conversation_id"])] = int(summary["seq"])
        return closed

    async def _release_closed(self, conversation_id: UUID, last_seq: int) -> None:
        """A closed conversation keeps nothing on this socket: a console open for a whole shift
        otherwise held a group membership, a role and a counter for every chat it ever had. Its
        log is sent up to the end first (the console shows the ended chat); nothing follows a
        close on the staff side (every change refuses a closed conversation)."""
        if self.sent.get(conversation_id, last_seq) < last_seq:
            await self.catch_up(conversation_id)
        await self._unsubscribe(conversation_id)

    # --- layer events -------------------------------------------------------------------------

    async def chat_subscribe(self, event: dict[str, Any]) -> None:
        if not self.greeted:
            return
        conversation_id = UUID(event["conversation_id"])
        if self.roles.get(conversation_id) == event["role"]:
            # This socket made the change (its reply subscribed it, and its catch-up follows
            # the reply): a second read of the log would find nothing new.
            return
        newly = conversation_id not in self.roles
        await self._subscribe(conversation_id, event["role"])
        # The summary broadcast for this change went to the conversation's group before this
        # socket joined it: send it here, before the log, so the console knows the state, its
        # role and the triage answers (a supervisor's reassignment, another tab's transfer).
        # Read after joining, so no change falls between. Out of it again by now (this socket
        # left before this notice of its own monitoring arrived), it would send the log twice.
        summaries = await self._summaries([conversation_id])
        if newly and all(summary["role"] == "none" for summary in summaries):
            await self._unsubscribe(conversation_id)
            return
        closed = await self._send_summaries(summaries)
        await self.catch_up(conversation_id)
        for closed_id, last_seq in closed.items():
            await self._release_closed(closed_id, last_seq)

    async def chat_unsubscribe(self, event: dict[str, Any]) -> None:
        conversation_id = UUID(event["conversation_id"])
        if conversation_id in self.roles:
            await self._unsubscribe(conversation_id)
            await self.send_json(
                {
                    "type": "conversation.left",
                    "conversation_id": event["conversation_id"],
                    "seq": event["seq"],
                    "reason": event["reason"],
                }
            )

    async def chat_summary(self, event: dict[str, Any]) -> None:
        summary = event["summary"]
        conversation_id = UUID(summary["conversation_id"])
        if self.greeted and (conversation_id in self.roles or self.me.is_supervisor):
            await self.send_json({**summary, "role": self.roles.get(conversation_id, "none")})
        if summary["state"] == Conversation.State.CLOSED and conversation_id in self.roles:
            await self._release_closed(conversation_id, int(summary["seq"]))
