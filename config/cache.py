"""The scaled profile's cache: Django's Redis cache, with one connection pool per Redis server for
the whole process.

Django keeps a cache backend per context (`django.core.cache.caches` is an asgiref `Local`), and
each backend made its own connection pool. A socket's database calls each run in a context of
their own (chat.engine.events.database_call), and an HTTP request in a thread of its own, so every
call or request that used the cache made a backend, a pool and a new connection to Redis: a
visitor's hello and the start of their chat made one each. Nothing closed them: each pool waited
for the garbage collector (redis-py's pools hold themselves in a reference cycle) with its
connection open (found with `make soak`'s censuses: docs/performance.md, long runs). Here every
backend of the process draws on the same pool: redis-py's pools are safe to share between
threads, and one made before a fork is replaced in the child on its first use.
"""

import threading
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_pools: dict[tuple[str, str], Any] = {}
_pools_lock = threading.Lock()


class SharedPoolClient(RedisCacheClient):
    # Django's, set by its __init__ (its type stubs leave them out).
    _servers: list[str]
    _pool_class: Any
    _pool_options: dict[str, Any]
    _get_connection_pool_index: Callable[[bool], int]

    def _get_connection_pool(self, write: bool) -> Any:
        index = self._get_connection_pool_index(write)
        server = self._servers[index]
        key = (server, repr(sorted(self._pool_options.items(), key=lambda item: item[0])))
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = self._pool_class.from_url(server, **self._pool_options)
        return pool


class SharedPoolRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedPoolClient


def shared_pools() -> int:
    """How many pools the process's Redis caches share (one per server and set of options)."""
    with _pools_lock:
        return len(_pools)
