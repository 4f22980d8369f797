# Polling loops here are bounded by deadlines and watch other processes, not events of our own.
# ruff: noqa: ASYNC110
"""(f) A Celery worker SIGKILLed while it renders a transcript PDF."""

import asyncio
import time
from typing import Any

from bench.chaos.stack import TRIAGE, Template, run_python, stack

PDF_SETUP = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from chat.services.visitor import conversation_start, triage_submit, visitor_create
from chat.models import Message
from risk.models import CaseConversation, CaseRecord
from risk import snapshots
user = get_user_model().objects.get(username="bench-advisor-0")
visitor, _ = visitor_create()
conversation_start(visitor_id=visitor.pk, conn_id="chaos")
conversation = triage_submit(visitor_id=visitor.pk, answers={ANSWERS})
start = conversation.last_seq
Message.objects.bulk_create(
    Message(conversation=conversation, seq=start + n, kind="text", sender_kind="visitor", client_msg_id=f"pdf-{n}",
            text=f"line {n} " + "of a long conversation " * 8)
    for n in range(1, LINES + 1)
)
conversation.last_seq = start + LINES
conversation.save(update_fields=["last_seq"])
case = CaseRecord.objects.create(owner=user)
CaseConversation.objects.create(case=case, conversation=conversation, linked_by=user)
print(snapshots.snapshot_make(user=user, case_id=case.pk, conversation_id=conversation.pk).pk)
"""

PDF_WRITES_TRIGGER = """
CREATE TABLE chaos_pdf_writes (at timestamptz DEFAULT now(), bytes int);
CREATE FUNCTION chaos_count_pdf() RETURNS trigger AS $$
BEGIN INSERT INTO chaos_pdf_writes (bytes) VALUES (length(NEW.pdf)); RETURN NEW; END $$ LANGUAGE plpgsql;
CREATE TRIGGER chaos_pdf AFTER UPDATE OF pdf ON risk_transcriptsnapshot
FOR EACH ROW WHEN (OLD.pdf IS DISTINCT FROM NEW.pdf) EXECUTE FUNCTION chaos_count_pdf();
"""


async def scenario_worker_killed(template: Template, visibility: float = 4.0, lines: int = 800) -> dict[str, Any]:
    """(f) A Celery worker SIGKILLed while it renders a transcript PDF. The task is acks_late, so
    the broker hands it to a second worker after the visibility timeout; the PDF is stored exactly
    once (a trigger counts the writes), and one more delivery of the task changes nothing."""
    env = {"CELERY_VISIBILITY_TIMEOUT": str(visibility)}
    with stack(template, "celery", **env) as servers:
        code = PDF_SETUP.replace("{ANSWERS}", repr(TRIAGE)).replace("LINES", str(lines))
        snapshot = run_python(servers.env, "manage.py", "shell", "--no-imports", "-c", code).strip().splitlines()[-1]
        servers.sql(PDF_WRITES_TRIGGER)
        enqueue = f"from risk.tasks import snapshot_pdf; snapshot_pdf.delay({snapshot!r})"

        def pdf_state() -> tuple[int, int]:
            rows = servers.sql(
                "SELECT coalesce(length(pdf), 0), (SELECT count(*) FROM chaos_pdf_writes) "
                "FROM risk_transcriptsnapshot WHERE id = %s",
                (snapshot,),
            )
            return int(rows[0][0]), int(rows[0][1])

        first = servers.celery_worker("worker-1")
        try:
            run_python(servers.env, "manage.py", "shell", "--no-imports", "-c", enqueue)
            deadline = time.monotonic() + 60
            while "snapshot_pdf" not in first.log_text() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if "snapshot_pdf" not in first.log_text():
                raise RuntimeError("the first worker never received the export")
            await asyncio.sleep(1.0)  # well into the render (imports and layout take seconds)
            killed_at = time.time()
            caught_mid_export = pdf_state() == (0, 0)
            first.kill()
            second = servers.celery_worker("worker-2")
            stored_at = None
            deadline = time.monotonic() + visibility + 60
            while time.monotonic() < deadline:
                if pdf_state()[0]:
                    stored_at = time.time()
                    break
                await asyncio.sleep(0.2)
            # One more delivery of the same task (a retry, a resend): it must find the PDF.
            run_python(servers.env, "manage.py", "shell", "--no-imports", "-c", enqueue)
            deadline = time.monotonic() + 30
            while second.log_text().count("succeeded") < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            size, writes = pdf_state()
            head = servers.sql(
                "SELECT substring(pdf from 1 for 5) FROM risk_transcriptsnapshot WHERE id = %s", (snapshot,)
            )
        except BaseException as exc:
            raise RuntimeError(f"{exc!r}\n{servers.logs()}") from exc
        result: dict[str, Any] = {
            "transcript_lines": lines,
            "visibility_timeout_s": visibility,
            "killed_mid_export": caught_mid_export,
            "pdf_bytes": size,
            "pdf_writes": writes,
            "is_pdf": bytes(head[0][0] or b"") == b"%PDF-",
            "second_worker_runs": second.log_text().count("succeeded"),
            "recovery_ms": round((stored_at - killed_at) * 1000) if stored_at else None,
            "messages_sent": 0,
            "lost": 0 if size else 1,
            "duplicated": max(0, writes - 1),
        }
        failures = []
        if not caught_mid_export:
            failures.append("the kill did not land during the export")
        if not size or not result["is_pdf"]:
            failures.append("the export never completed")
        if writes != 1:
            failures.append(f"the PDF was written {writes} times")
        result["failures"] = failures
        result["passed"] = not failures
        return result
