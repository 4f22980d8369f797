"""A TCP proxy that can lose the network."""

import asyncio
import contextlib
from typing import Any


class Proxy:
    """Forwards 127.0.0.1:port to a daphne. `cut()` makes every open connection a black hole (bytes
    either way are dropped, nobody is told) and refuses new ones; `restore()` forwards new
    connections again, and `reap()` later resets the stale ones, as a server finds out late."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = 0
        self.down = False
        self.links: list[dict[str, Any]] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> "Proxy":
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.transport.abort()
            return
        link = {"dead": False, "writers": (writer, up_writer)}
        self.links.append(link)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await source.read(65536):
                    if not link["dead"]:
                        sink.write(data)
                        await sink.drain()
            if not link["dead"]:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        self.down = True
        for link in self.links:
            link["dead"] = True

    def restore(self) -> None:
        self.down = False

    def reap(self) -> int:
        stale = [link for link in self.links if link["dead"]]
        for link in stale:
            for writer in link["writers"]:
                writer.transport.abort()
            self.links.remove(link)
        return len(stale)

    async def close(self) -> None:
        for link in self.links:
            for writer in link["writers"]:
                writer.transport.abort()
        if self.server is not None:
            self.server.close()
