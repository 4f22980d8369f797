"""Reference data that every arrival reads, kept in memory for a few seconds.

A visitor's hello, start and triage read the opening hours, the service pause, the triage flow,
the regions, the queues and the wait estimate's inputs. Read from the database each time, they
were most of the queries of an arrival (`python -m bench.arrival` counts them), all on Channels'
single database thread. Each is cached per process for at most `ttl` seconds:

- a change saved through the ORM (the admin, the services) clears the caches that depend on that
  model in the process that saved it, at once; a save naming its `update_fields` clears only
  the caches that depend on one of those fields (a console connecting saves its staff profile's
  `disconnected_at`, which no cache reads);
- other processes (a second daphne, Celery) see it within `ttl` seconds.

Cached values are shared between callers: they must not be changed in place.

`REFERENCE_CACHE=off` (environment) turns the caching off, for a server whose data is edited
from outside it while it runs (the browser tests' live server, set up through manage.py).
"""

import functools
import threading
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar

from cachetools import TTLCache, cached
from django.conf import settings
from django.db.models.signals import m2m_changed, post_delete, post_save

P = ParamSpec("P")
R = TypeVar("R")

_Entry = tuple[TTLCache[Any, Any], threading.Lock, frozenset[str] | None]
_caches: list[_Entry] = []
_by_model: dict[str, list[_Entry]] = {}


def memo(*, ttl: float, models: tuple[str, ...]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Cache a function of hashable arguments for `ttl` seconds, cleared when any of `models` is
    saved or deleted in this process: "app_label.model", or "app_label.model:field,field" for
    saves that change one of those fields."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        cache: TTLCache[Any, Any] = TTLCache(maxsize=256, ttl=ttl)
        lock = threading.Lock()
        for model in models:
            name, _, fields = model.lower().partition(":")
            entry = (cache, lock, frozenset(fields.split(",")) if fields else None)
            _by_model.setdefault(name, []).append(entry)
        _caches.append((cache, lock, None))
        cached_function = cached(cache, lock=lock)(function)

        @functools.wraps(function)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            if not settings.REFERENCE_CACHE:
                return function(*args, **kwargs)
            return cached_function(*args, **kwargs)

        return call

    return decorate


def clear(model: str | None = None, *, fields: Iterable[str] | None = None) -> None:
    """Forget cached values: those depending on `model` (on one of `fields` of it), or all."""
    changed = frozenset(fields) if fields is not None else None
    for cache, lock, reads in _caches if model is None else _by_model.get(model.lower(), []):
        if reads is not None and changed is not None and not reads & changed:
            continue
        with lock:
            cache.clear()


def _changed(sender: type, update_fields: Iterable[str] | None = None, **kwargs: Any) -> None:
    meta = getattr(sender, "_meta", None)
    if meta is not None:
        clear(meta.label_lower, fields=update_fields)


post_save.connect(_changed, weak=False, dispatch_uid="chat.reference.saved")
post_delete.connect(_changed, weak=False, dispatch_uid="chat.reference.deleted")


def _m2m_changed(sender: type, instance: Any, **kwargs: Any) -> None:
    clear(instance._meta.label_lower)  # every cache of the model, whatever fields it names


m2m_changed.connect(_m2m_changed, weak=False, dispatch_uid="chat.reference.m2m")
