"""No query parameter, form field or JSON body makes any HTTP endpoint fail with a 500.

Every URL pattern the project routes (the Django admin aside) is found from the URL
configuration itself, so a new endpoint is fuzzed without anyone adding it here; one whose path
needs a value this file cannot fill fails `test_every_endpoint_can_be_reached`. The parameter
names tried are the ones the code reads (found in its source) plus random ones; their values are
random text, NUL characters, invalid UTF-8, huge numbers, odd dates and paths. Each endpoint is
called anonymously, as the advisor who owns the case and as a supervisor.
"""

import json
import re
import urllib.parse
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django_otp_webauthn.models import WebAuthnCredential
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from risk import referrals, return_phrases, services, snapshots
from risk.api_schemas import Body
from risk.delivery_core import code_hash, delivery_code, delivery_token, token_hash
from risk.delivery_models import ReferralDelivery
from tests import factories
from tests.factories import chat_with
from tests.factories.risk import directory
from tests.support.depth import depth
from tests.support.ws import verified_session_cookie

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_PREFIXES = ("admin/",)  # Django's own admin
CONVERTER = re.compile(r"<(?:(?P<kind>\w+):)?(?P<name>\w+)>")


def routes() -> list[str]:
    """Every routed path pattern, e.g. `risk/cases/<uuid:case_id>/`."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[str]:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                yield route

    return sorted(r for r in walk(get_resolver().url_patterns, "") if not r.startswith(SKIPPED_PREFIXES))


def parameter_names() -> list[str]:
    """The names the code reads from a query or a form (`GET.get("x")`, `query.get("x")` ...)."""
    found: set[str] = set()
    read = re.compile(r"""(?:GET|POST|query|data|body)\.(?:get|getlist)\(\s*f?["']([\w.{}-]+)["']""")
    for app in ("agents", "chat", "risk", "config"):
        for source in (ROOT / app).rglob("*.py"):
            found.update(read.findall(source.read_text()))
    # The fields of the JSON bodies' schemas (risk.api_schemas), which no `.get(...)` names.
    for schema in Body.__subclasses__():
        found.update(schema.model_fields)
    return sorted(name for name in found if "{" not in name)


NAMES = parameter_names()
SPECIAL = [
    "",
    " ",
    "\x00",
    "%00",
    "yes",
    "no",
    "on",
    "true",
    "csv",
    "json",
    "pdf",
    "-1",
    "0",
    "1e309",
    "9" * 40,
    "2026-02-30",
    "2026-13-01",
    "0001-01-01",
    "9999-12-31",
    "../../etc/passwd",
    "<script>",
    "'; DROP TABLE x; --",
    "00000000-0000-0000-0000-000000000000",
    "x" * 5000,
    "\ud7ff\ufffe",
    "😀",
    "a\x00b",
    "\x00" * 3,
    "\t\n\r",
    "[]",
    "{}",
    "null",
]
values = st.one_of(
    st.sampled_from(SPECIAL).map(str.encode),
    st.text(max_size=30).map(str.encode),
    st.binary(max_size=12),  # often not UTF-8 at all
)
keys = st.one_of(st.sampled_from(NAMES), st.text(min_size=1, max_size=12))
# Either every known name at once (one bad value anywhere shows), or a few names, known or not.
pairs = st.one_of(
    st.fixed_dictionaries({name: values for name in NAMES}).map(lambda d: list(d.items())),
    st.lists(st.tuples(keys, values), max_size=6),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=8,
)
json_bodies = st.one_of(
    st.dictionaries(st.sampled_from(NAMES), json_values, max_size=5),
    json_values,
    st.binary(max_size=20),  # not JSON at all
)


def encode(items: list[tuple[str, bytes]]) -> str:
    return "&".join(
        f"{urllib.parse.quote(key, safe='')}={urllib.parse.quote_from_bytes(value, safe='')}" for key, value in items
    )


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    factories.queues()
    advisor, supervisor = factories.staff(), factories.staff(role="supervisor")
    conversation = chat_with(advisor)
    case = services.case_open(user=advisor, conversation_id=conversation.pk)
    assessment = services.assessment_start(user=advisor, case_id=case.pk, conversation_id=conversation.pk)
    referral = referrals.referral_draft(user=advisor, case_id=case.pk)
    snapshot = snapshots.snapshot_make(user=advisor, case_id=case.pk, conversation_id=conversation.pk)
    phrase = return_phrases.return_phrase_issue(user=advisor, case_id=case.pk).phrase
    passkey = WebAuthnCredential.objects.create(
        user=advisor, name="Key", confirmed=True, credential_id=b"k", credential_id_sha256="0" * 64, public_key=b"k"
    )
    # A referral delivered and waiting at its link (the agency's page: no sign-in).
    agency = directory()["marac"]
    delivered = ReferralDelivery(referral=referral, agency=agency, address=agency.email, requested_by=supervisor)
    delivered.nonce = "fuzz-nonce"
    delivered.token_hash = token_hash(delivery_token(delivered))
    delivered.code_hash = code_hash(delivered.pk, delivery_code(delivered))
    delivered.sent_at = delivered.link_sent_at = delivered.code_sent_at = timezone.now()
    delivered.expires_at = timezone.now() + timedelta(hours=1)
    delivered.save()
    return {
        "users": {"anonymous": None, "advisor": advisor, "supervisor": supervisor},
        "path_values": {
            "conversation_id": conversation.pk,
            "case_id": case.pk,
            "assessment_id": assessment.pk,
            "referral_id": referral.pk,
            "snapshot_id": snapshot.pk,
            "passkey_id": passkey.pk,
            "phrase_id": phrase.pk,
            "fmt": "json",
            "token": delivery_token(delivered),
        },
    }


def concrete(route: str, path_values: dict[str, Any]) -> str:
    return "/" + CONVERTER.sub(lambda m: str(path_values[m["name"]]), route)


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.cookies["sessionid"] = verified_session_cookie(user).split("=", 1)[1]
    return client


def test_every_endpoint_can_be_reached(world: dict[str, Any]) -> None:
    found = routes()
    assert "risk/referrals/" in found and "widget/config" in found and "accounts/login/" in found
    for route in found:
        for match in CONVERTER.finditer(route):
            assert match["name"] in world["path_values"], f"add a sample value for <{match[0]}> in {route}"
    assert {"criterion", "state", "start", "end", "format", "lang"} <= set(NAMES)
    assert {"reference", "answers", "judgement_high", "assessment_id"} <= set(NAMES)


# The readiness report answers 503 when a dependency is down (no Celery worker in the tests).
DEPENDENCY_DOWN = {"healthz/ready": 503}


@pytest.mark.parametrize("route", routes())
def test_no_input_makes_an_endpoint_fail(world: dict[str, Any], route: str, settings: Any) -> None:
    settings.HEALTH_READY_CACHE_SECONDS = 600
    path = concrete(route, world["path_values"])
    clients = {role: client_for(user) for role, user in world["users"].items()}

    @hypothesis_settings(
        max_examples=depth(12),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(query=pairs, form=pairs, body=json_bodies)
    def call(query: list[tuple[str, bytes]], form: list[tuple[str, bytes]], body: Any) -> None:
        url = f"{path}?{encode(query)}" if query else path
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        for role, client in clients.items():
            for method in ("get", "form", "json"):
                if method == "get":
                    response = client.get(url)
                elif method == "form":
                    response = client.post(url, encode(form), content_type="application/x-www-form-urlencoded")
                else:
                    response = client.post(url, raw, content_type="application/json")
                allowed = response.status_code < 500 or response.status_code == DEPENDENCY_DOWN.get(route)
                assert allowed, (role, method, url, response.status_code)

    call()


def test_the_referral_queue_refuses_unknown_filters_clearly(world: dict[str, Any]) -> None:
    supervisor = client_for(world["users"]["supervisor"])
    assert supervisor.get("/risk/referrals/?criterion=repeat&state=submitted&urgent=yes&area=Leeds").status_code == 200
    for query, message in (
        ("criterion=%00", b"A NUL character (%00) is not allowed"),
        ("criterion=nonsense", b"Unknown criterion; choose one of visible_high_risk"),
        ("state=draft", b"Unknown state; choose one of"),
        ("urgent=maybe", b"Urgent is yes, no or empty."),
        ("area=" + "x" * 101, b"The area is a name of at most 100 printable characters."),
    ):
        response = supervisor.get(f"/risk/referrals/?{query}")
        assert response.status_code == 400, query
        assert message in response.content, query


def test_a_nul_character_in_a_form_or_json_body_is_refused(world: dict[str, Any]) -> None:
    advisor = client_for(world["users"]["advisor"])
    case_id = world["path_values"]["case_id"]
    form = advisor.post(f"/risk/cases/{case_id}/", {"action": "note", "text": "a\x00b"})
    assert form.status_code == 400 and b"NUL character" in form.content
    api = advisor.post(
        f"/risk/api/assessments/{world['path_values']['assessment_id']}/",
        json.dumps({"answers": {"c01": {"value": "yes", "note": "a\x00"}}}),
        content_type="application/json",
    )
    assert api.status_code == 400 and "NUL character" in api.json()["error"]
    not_utf8 = advisor.post("/accounts/webauthn/authentication/begin/", b"\x80{}", content_type="application/json")
    assert not_utf8.status_code == 400 and not_utf8.json()["error"] == "The request body must be JSON in UTF-8."
    # The same requests without the NUL are accepted.
    assert advisor.post(f"/risk/cases/{case_id}/", {"action": "note", "text": "ab"}).status_code in (200, 302)
