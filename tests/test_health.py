"""/healthz answers without touching anything; the readiness report is guarded and cached."""

from typing import Any

import pytest
from django.test import Client

from config import health

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_readiness() -> Any:
    health.forget_readiness()
    yield
    health.forget_readiness()


@pytest.fixture
def counted_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each real dependency check the server makes (the checks still run)."""
    calls: list[str] = []
    real_database = health._database

    def database() -> dict[str, Any]:
        calls.append("database")
        return real_database()

    def celery() -> dict[str, Any]:
        calls.append("celery")
        raise RuntimeError("no worker answered")

    monkeypatch.setattr(health, "_database", database)
    monkeypatch.setattr(health, "_celery", celery)
    return calls


def test_liveness_is_public_and_checks_nothing(settings: Any, counted_checks: list[str]) -> None:
    settings.METRICS_TOKEN = "s3cret-token"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    for _ in range(20):
        response = Client().get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
    assert counted_checks == []
    assert "no-cache" in response["Cache-Control"]


def test_readiness_needs_the_metrics_token(settings: Any, counted_checks: list[str]) -> None:
    settings.METRICS_TOKEN = "s3cret-token"
    settings.CELERY_TASK_ALWAYS_EAGER = True  # no worker to ask in this test
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token"}):
        response = Client().get("/healthz/ready", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "the readiness report needs the bearer token"
    assert counted_checks == []
    response = Client().get("/healthz/ready", headers={"Authorization": "Bearer s3cret-token"})
    assert response.status_code == 200
    assert response.json()["checks"]["database"]["ok"] is True
    assert counted_checks == ["database"]


def test_readiness_checks_at_most_once_per_cache_period(settings: Any, counted_checks: list[str]) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.HEALTH_READY_CACHE_SECONDS = 60
    responses = [Client().get("/healthz/ready") for _ in range(10)]
    # One round of checks answered all ten; a failing worker is reported, never raised.
    assert counted_checks == ["database", "celery"]
    assert {r.status_code for r in responses} == {503}
    body = responses[-1].json()
    assert body["checks"]["celery"]["ok"] is False and body["checks"]["celery"]["error"] == "RuntimeError"
    assert body["age_seconds"] >= 0

    settings.HEALTH_READY_CACHE_SECONDS = 0
    Client().get("/healthz/ready")
    assert counted_checks == ["database", "celery", "database", "celery"]
