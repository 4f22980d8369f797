"""The embedded profile's cache: Django's in-process cache, culled as a server that runs for
months needs.

Django's `LocMemCache` holds 300 entries by default and, when full, drops the least recently
used third of them, whatever their expiry. Entries that are rarely read went first: a block on a
visitor's connection (`chat:blocked-connection:...`, read only when that connection comes back)
was gone after about 300 new visitors, and the connection could start a chat again; the day's key
that every connection's hash is made with (`chat:connection-key:...`) could go too, and every hash
of the day changed with it. Expired entries, on the other hand, were only dropped when read.

Here a full cache first drops what has expired. Only if it is still full does it drop the least
recently used third, and never an entry whose key starts with one of `KEEP_PREFIXES` (few, and
each with its own expiry). `MAX_ENTRIES` bounds the rest: the per-visitor entries (the hash of
each visitor's connection, kept 24 hours so that staff can block it with the session).
"""

import time
from typing import Any

from django.core.cache.backends.locmem import LocMemCache


class ExpiringLocMemCache(LocMemCache):
    _cache: Any  # Django's OrderedDict of entries, the most recently used first
    _expire_info: dict[str, float | None]
    _max_entries: int
    _cull_frequency: int
    _delete: Any

    def __init__(self, name: str, params: dict[str, Any]) -> None:
        super().__init__(name, params)
        self._keep = tuple(self.make_key(prefix) for prefix in params.get("OPTIONS", {}).get("KEEP_PREFIXES", ()))

    def _cull(self) -> None:  # Django's, called with the cache's lock held when it is full
        now = time.time()
        for key in [key for key, expiry in self._expire_info.items() if expiry is not None and expiry <= now]:
            self._delete(key)
        if len(self._cache) < self._max_entries:
            return
        count = len(self._cache) // max(self._cull_frequency, 1)
        oldest = [key for key in reversed(self._cache) if not key.startswith(self._keep)]
        for key in oldest[:count]:
            self._delete(key)
