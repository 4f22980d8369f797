"""Changes made in the administration are recorded and cannot be edited there."""

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.test import Client

from agents.models import CannedResponse
from tests import factories
from tests.support.ws import verified_session_cookie


@pytest.mark.django_db
def test_a_canned_response_change_is_audited_and_the_log_is_read_only() -> None:
    factories.queues()
    supervisor = factories.staff(role="supervisor", is_staff_user=True)
    response = CannedResponse.objects.create(shortcut="hello", title="Greeting", text="Hello")
    client = Client()
    client.cookies["sessionid"] = verified_session_cookie(supervisor).split("=", 1)[1]
    saved = client.post(
        f"/admin/agents/cannedresponse/{response.pk}/change/",
        {"owner": "", "shortcut": "hello", "title": "Greeting", "text": "Hello, you're talking to an advisor."},
    )
    assert saved.status_code == 302, saved.content[:500]
    entry = LogEntry.objects.get(object_id=str(response.pk))
    assert entry.user_id == supervisor.pk and entry.action_flag == CHANGE
    assert "Text" in entry.get_change_message()
    assert client.get("/admin/admin/logentry/").status_code == 200
    assert client.get(f"/admin/admin/logentry/{entry.pk}/change/").status_code in (200, 403)
    assert client.post(f"/admin/admin/logentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert LogEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.django_db
def test_the_admin_needs_the_second_factor() -> None:
    factories.queues()
    supervisor = factories.staff(role="supervisor", is_staff_user=True)
    client = Client()
    client.force_login(supervisor)
    assert client.get("/admin/").status_code == 302
