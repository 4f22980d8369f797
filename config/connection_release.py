"""A websocket connection daphne has finished with is freed as soon as daphne forgets it, instead
of waiting for the garbage collector.

Two reference cycles held each one together after it closed: autobahn resolves the protocol's
`is_closed` Deferred with the protocol itself, and daphne hands an upgraded HTTP connection to
the websocket protocol while Twisted's HTTP channel keeps the upgrade request in its list of
requests, the request naming the channel. So the protocol, its TCP transport, the HTTP channel
and request, autobahn's state of the connection and daphne's queue for the application waited
for a collection of the generation they had reached by then. The server collects its middle
generation rarely (config/server.py, for the latency of deliveries), so under `make soak` the
closed connections of a whole period piled up between two such collections, the largest part of
the process's growth, and while the server was idle nothing collected them at all
(docs/performance.md, long runs).

daphne forgets a connection in `Server.application_checker` (every second), once it has
disconnected and its application instance has finished; the server made by `command_line` then
breaks both cycles. Nothing reads either afterwards: autobahn resolves `is_closed` once, when the
connection closes, and the HTTP channel of an upgraded request has no transport left to read a
request from.
"""

from typing import Any


def release(protocol: Any) -> None:
    """Breaks the cycles of a connection daphne has forgotten: a websocket protocol's resolved
    `is_closed` stays resolved, without the protocol as its result; an upgrade request leaves
    its HTTP channel's list of requests."""
    from twisted.internet import defer

    closed = getattr(protocol, "__dict__", {}).get("is_closed")
    if isinstance(closed, defer.Deferred) and closed.called:
        protocol.is_closed = defer.succeed(None)
    requests = getattr(getattr(protocol, "channel", None), "requests", None)
    if isinstance(requests, list) and protocol in requests:
        requests.remove(protocol)


def command_line() -> Any:
    """daphne's command line, serving through a daphne `Server` that releases each connection it
    forgets. Once the event loop is chosen: importing daphne's server builds its reactor."""
    from daphne.cli import CommandLineInterface
    from daphne.server import Server

    class ReleasingServer(Server):
        def application_checker(self) -> None:
            known = list(self.connections)
            super().application_checker()
            for protocol in known:
                if protocol not in self.connections:
                    release(protocol)

    class CommandLine(CommandLineInterface):
        server_class = ReleasingServer

    return CommandLine()
