"""Database connections of HTTP requests end with the request, and an SQLite one keeps a small
page cache while it lasts.

Under ASGI, Django runs each request's synchronous code in a thread of its own: the connection that
request opened lives in that thread's storage, which nothing reads again. With CONN_MAX_AGE set (the
websocket consumers' database thread keeps its connection), Django's own end-of-request check leaves
it open, and its file handles (SQLite) or server session stay until a garbage collection happens to
reach it. Closing it at the end of the request, in the request's own thread, returns PostgreSQL
connections to the pool and SQLite's files to the system at once.

An SQLite connection caches the pages it reads (by default up to SQLite's own limit, some
megabytes) in memory allocated by the thread it runs in. A request's thread is new for each
request and glibc gives it one of the process's malloc arenas; what the cache took is freed when
the connection closes but stays in that arena, and the system gets none of it back. A request
reading a table whole (`/metrics` counting the chats closed in the last hour) filled a fresh
cache as large as the table, up to the limit, so every arena those threads used grew with the
database (measured with `make soak`'s censuses: docs/performance.md, long runs). A request's
connection lives for one request: a cache larger than what one request reads again is of no use
to it, so REQUEST_PAGE_CACHE_KIB bounds it, and with it what a request can leave behind,
whatever the size of the database. The sockets' database thread keeps SQLite's default: its one
connection serves every socket for as long as the process runs.
"""

from typing import Any

from django.core.signals import request_finished, request_started
from django.db import connections

REQUEST_PAGE_CACHE_KIB = 256


def bound_request_connections(**kwargs: Any) -> None:
    """In the request's own thread, before it reads anything: its SQLite connections, made when
    first used, get a small page cache (config.db.sqlite3). An already open connection (a test's,
    wrapping the request in its transaction) is left as it is."""
    for connection in connections.all():
        if connection.vendor == "sqlite" and connection.connection is None:
            connection.page_cache_kib = REQUEST_PAGE_CACHE_KIB  # type: ignore[attr-defined]


def close_request_connections(**kwargs: Any) -> None:
    for connection in connections.all(initialized_only=True):
        # A connection inside a transaction is not the request's to end (tests wrap requests so).
        if not connection.in_atomic_block:
            connection.close()


def install() -> None:
    request_started.connect(bound_request_connections, dispatch_uid="bound_request_connections")
    request_finished.connect(close_request_connections, dispatch_uid="close_request_connections")
