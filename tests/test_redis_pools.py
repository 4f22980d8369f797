"""The scaled profile's connections to Redis are made once per process, not once per use: every
context that uses the cache draws on one connection pool (config/cache.py), and the readiness
check keeps its client (config/health.py). redis-py's pools hold themselves in a reference cycle,
so each one made and dropped stayed until a garbage collection: the collector is off here, and
what the process holds of them is counted."""

import asyncio
import contextvars
import gc
from collections.abc import Iterator

import pytest
import redis
from django.core.cache import cache
from django.test import Client
from redis.event import EventDispatcher

from chat.engine import events
from config.health import forget_readiness

pytestmark = [pytest.mark.scaled, pytest.mark.django_db(transaction=True)]

USES = 12


@pytest.fixture
def no_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    yield
    gc.enable()
    gc.collect()


def pools() -> int:
    """redis-py's synchronous connection pools in this process and the objects each one's
    client and pool make (their event dispatchers), collected or not yet. The channel layer's
    are asyncio pools, made once."""
    kinds = (redis.ConnectionPool, EventDispatcher)
    return sum(1 for o in gc.get_objects() if type(o) in kinds)


def use_the_cache(n: int) -> int:
    cache.set(f"pool-test-{n}", n, timeout=30)
    return int(cache.get(f"pool-test-{n}"))


async def test_database_calls_using_the_cache_share_one_pool(no_collector: None) -> None:
    async def socket() -> int:
        # Each database call runs in a context of its own (chat.engine.events), as a visitor's
        # hello and the start of their chat do; Django keeps a cache backend per context.
        assert await events.database_call(use_the_cache)(0) == 0
        before = pools()
        for n in range(1, USES + 1):
            assert await events.database_call(use_the_cache)(n) == n
        return pools() - before

    # As daphne runs a socket's application: in a task whose context holds none of Django's
    # per-context state (this test's own context has a cache backend already).
    made = await asyncio.get_running_loop().create_task(socket(), context=contextvars.Context())
    assert made == 0


def test_readiness_checks_keep_their_redis_client(no_collector: None, settings: object) -> None:
    settings.HEALTH_READY_CACHE_SECONDS = 0  # type: ignore[attr-defined]
    settings.METRICS_TOKEN = ""  # type: ignore[attr-defined]
    settings.CELERY_TASK_ALWAYS_EAGER = True  # type: ignore[attr-defined]  # no worker to ask here
    forget_readiness()
    assert Client().get("/healthz/ready").json()["checks"]["redis"]["ok"] is True
    before = pools()
    for _ in range(USES):
        assert Client().get("/healthz/ready").json()["checks"]["redis"]["ok"] is True
    assert pools() == before
