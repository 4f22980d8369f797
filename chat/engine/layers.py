"""The embedded profile's channel layer: Channels' in-memory layer, without its two costs that
grow with the number of sockets (found with py-spy under `make bench`, where together they were
a large share of the server's time).

1. It sweeps every channel and group for expired entries on each receive and group send, which is
   O(sockets) per message; here the sweep runs at most once a second (expiry is 120 s, so a
   second's delay changes nothing). Its sweep also went through every group once for each
   expired message; a channel nobody reads (its socket gone before it left its groups) collects
   a queue of them, and with many sockets those sweeps took most of the server's time. Here
   each such channel leaves its groups once a sweep, and a group left empty is forgotten.
2. It deep-copies every message for every recipient with `copy.deepcopy`; our events are plain
   JSON-shaped data (dicts, lists, strings, numbers), copied here by a function that knows only
   those shapes, several times faster, and once per send: the members of a group share that copy
   (a queue snapshot went to every advisor of the queue, copied for each). Consumers read events
   and never change them (each builds what it sends anew); the sender's own dict is never shared.

Group sends put messages on the members' queues directly instead of through one task per member.
A channel's queue is an `Inbox` (a list and the receivers waiting on it) instead of an
`asyncio.Queue` (four deques and an event): every idle socket has one, and Channels built a new
`asyncio.Queue` on every send only to throw it away when the channel already had one. A channel
keeps its inbox from one receive to the next (its consumer waits again as soon as it has
dispatched); a cancelled receiver with nothing queued forgets it at once, and the sweep forgets
any other that nobody waits on.
Channel names come from the operating system's random source, not the `random` module, so
nothing that seeds `random` (hypothesis does, for every example it runs) can give a new socket the
name of an old one that is still in some group - a visitor's socket would then receive a staff
member's events.
"""

import asyncio
import contextlib
import secrets
import time
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer

SWEEP_EVERY_SECONDS = 1.0


def json_copy(value: Any) -> Any:
    """A deep copy of JSON-shaped data; anything else (immutable here: UUIDs, datetimes) is
    shared, as `deepcopy` would share it too."""
    if isinstance(value, dict):
        return {key: json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_copy(item) for item in value]
    if isinstance(value, tuple):
        return tuple(json_copy(item) for item in value)
    return value


class Inbox:
    """A channel's messages, as (expiry time, message), and the receivers waiting for one.

    A list, not a deque: it holds a message or two at a time (taking the first of even a full
    one moves a few kilobytes), and an empty deque is several hundred bytes more than an empty
    list on every idle socket."""

    __slots__ = ("capacity", "items", "waiters")

    def __init__(self, capacity: int) -> None:
        self.items: list[tuple[float, dict[str, Any]]] = []
        self.capacity = capacity
        self.waiters: list[asyncio.Future[None]] = []

    def put(self, item: tuple[float, dict[str, Any]]) -> None:
        if len(self.items) >= self.capacity:
            raise ChannelFull()
        self.items.append(item)
        for waiter in self.waiters:
            # A receiver on a loop closed since (its task never finished) waits no more.
            if not waiter.done() and not waiter.get_loop().is_closed():
                waiter.set_result(None)
                break

    async def get(self) -> dict[str, Any]:
        while not self.items:
            waiter = asyncio.get_running_loop().create_future()
            self.waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                # Woken and cancelled at once: pass the wake-up on to another receiver.
                if waiter.done() and not waiter.cancelled() and self.items:
                    self._wake_next(waiter)
                raise
            finally:
                self.waiters.remove(waiter)
        return self.items.pop(0)[1]

    def _wake_next(self, woken: "asyncio.Future[None]") -> None:
        for waiter in self.waiters:
            if waiter is not woken and not waiter.done() and not waiter.get_loop().is_closed():
                waiter.set_result(None)
                return


class EmbeddedChannelLayer(InMemoryChannelLayer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._swept_at = 0.0

    async def new_channel(self, prefix: str = "specific.") -> str:
        return f"{prefix}.inmemory!{secrets.token_hex(12)}"

    def _clean_expired(self) -> None:
        """As Channels' sweep: expired messages are dropped, and a channel with one leaves every
        group; then memberships older than the group expiry end."""
        moment = time.monotonic()
        if moment - self._swept_at < SWEEP_EVERY_SECONDS:
            return
        self._swept_at = moment
        now = time.time()
        unread: set[str] = set()
        for channel, inbox in list(self.channels.items()):
            while inbox.items and inbox.items[0][0] < now:
                del inbox.items[0]
                unread.add(channel)
            if not inbox.items and not inbox.waiters:
                self.channels.pop(channel, None)
        timeout = int(now) - self.group_expiry
        for group, members in list(self.groups.items()):
            for channel in unread & members.keys():
                members.pop(channel, None)
            for name, joined in list(members.items()):
                if joined and joined < timeout:
                    members.pop(name, None)
            if not members:  # as group_discard does: a server up for months meets every chat's group
                del self.groups[group]

    def _put(self, channel: str, message: dict[str, Any]) -> None:
        """Queue an already copied message."""
        inbox = self.channels.get(channel)
        if inbox is None:
            inbox = self.channels[channel] = Inbox(self.get_capacity(channel))
        try:
            inbox.put((time.time() + self.expiry, message))
        except ChannelFull:
            raise ChannelFull(channel) from None

    async def receive(self, channel: str) -> dict[str, Any]:
        self.require_valid_channel_name(channel)
        self._clean_expired()
        inbox = self.channels.get(channel)
        if inbox is None:
            inbox = self.channels[channel] = Inbox(self.get_capacity(channel))
        try:
            return await inbox.get()
        except asyncio.CancelledError:
            # A receiver that gives up is most often a socket closing: as Channels' layer, a
            # channel nobody waits on and with nothing queued is forgotten. One that received
            # keeps its inbox, as its consumer is about to wait on it again (making it anew at
            # each event was three objects more for the collector); the sweep forgets it if not.
            if not inbox.items and not inbox.waiters and self.channels.get(channel) is inbox:
                del self.channels[channel]
            raise

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        self._put(channel, json_copy(message))

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        members = list(self.groups.get(group, {}))
        if not members:
            return
        shared = json_copy(message)
        for channel in members:
            # As Channels' own layers do: a full channel misses a group message.
            with contextlib.suppress(ChannelFull):
                self._put(channel, shared)
