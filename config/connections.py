"""Database connections of HTTP requests end with the request.

Under ASGI, Django runs each request's synchronous code in a thread of its own: the connection that
request opened lives in that thread's storage, which nothing reads again. With CONN_MAX_AGE set (the
websocket consumers' database thread keeps its connection), Django's own end-of-request check leaves
it open, and its file handles (SQLite) or server session stay until a garbage collection happens to
reach it. Closing it at the end of the request, in the request's own thread, returns PostgreSQL
connections to the pool and SQLite's files to the system at once.
"""

from typing import Any

from django.core.signals import request_finished
from django.db import connections


def close_request_connections(**kwargs: Any) -> None:
    for connection in connections.all(initialized_only=True):
        # A connection inside a transaction is not the request's to end (tests wrap requests so).
        if not connection.in_atomic_block:
            connection.close()


def install() -> None:
    request_finished.connect(close_request_connections, dispatch_uid="close_request_connections")
