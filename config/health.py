"""Operational endpoints: /healthz (liveness), /healthz/ready (database, Redis, Celery) and
/metrics (Prometheus text).

None says anything about a visitor: counts, ages and timings only. /healthz is public and touches
nothing outside the process, so no one can make the server ping its dependencies by calling it;
the readiness report needs the metrics token (when one is set) and is computed at most once every
`HEALTH_READY_CACHE_SECONDS` per process however often it is asked for.
"""

import hmac
import threading
import time
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from chat.metrics import REGISTRY
from config.celery import app


def _timed(check: Any) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        detail = check()
        result: dict[str, Any] = {"ok": True, **(detail or {})}
    except Exception as exc:  # a failing dependency is reported, not raised
        result = {"ok": False, "error": exc.__class__.__name__}
    result["ms"] = round((time.perf_counter() - start) * 1000, 1)
    return result


def _database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


# One client per Redis URL for the process's readiness checks. A client made for each check
# connected anew each time and was left to the garbage collector: redis-py's connection pools
# hold themselves in a reference cycle.
_redis_clients: dict[str, Any] = {}


def _redis() -> dict[str, Any]:
    import redis

    client = _redis_clients.get(settings.REDIS_URL)
    if client is None:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
        _redis_clients[settings.REDIS_URL] = client
    client.ping()
    return {}


def _celery() -> dict[str, Any]:
    replies = app.control.ping(timeout=1.0)
    if not replies:
        raise RuntimeError("no worker answered")
    return {"workers": len(replies)}


def _authorised(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    return not token or hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


_ready_lock = threading.Lock()
_ready_cache: dict[str, Any] = {}


def forget_readiness() -> None:
    """Drops the cached readiness report (the next request checks again)."""
    with _ready_lock:
        _ready_cache.clear()


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Checks nothing else, so it costs nothing to call."""
    return JsonResponse({"status": "ok"})


@never_cache
def readiness(request: HttpRequest) -> JsonResponse:
    """The full report, for the metrics token's holder; cached for a few seconds."""
    if not _authorised(request):
        return JsonResponse({"status": "error", "error": "the readiness report needs the bearer token"}, status=401)
    with _ready_lock:
        now = time.monotonic()
        if not _ready_cache or now - _ready_cache["at"] >= settings.HEALTH_READY_CACHE_SECONDS:
            _ready_cache.update(at=now, report=_readiness_report())
        body, status = _ready_cache["report"]
        age = round(now - _ready_cache["at"], 1)
    return JsonResponse({**body, "age_seconds": age}, status=status)


def _readiness_report() -> tuple[dict[str, Any], int]:
    checks: dict[str, Any] = {"database": _timed(_database)}
    if settings.REDIS_URL:
        checks["redis"] = _timed(_redis)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        checks["celery"] = {"ok": True, "mode": "eager"}
    else:
        checks["celery"] = _timed(_celery)
    healthy = all(check["ok"] for check in checks.values())
    return {"status": "ok" if healthy else "error", "checks": checks}, 200 if healthy else 503


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    if not _authorised(request):
        return HttpResponse("metrics need the bearer token\n", status=401, content_type="text/plain")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
