import logging
from typing import Any

from django.conf import settings

from config.celery import app
from risk import delivery_send, referrals, transcript_pdf
from risk.audit_verify import verify_chain
from risk.checkpoints import checkpoint_sign
from risk.retention import cases_retention_review


@app.task(acks_late=True, ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def snapshot_pdf(snapshot_id: str) -> None:
    """Renders a snapshot's PDF once; running it again finds the stored PDF and does nothing."""
    transcript_pdf.snapshot_pdf(snapshot_id=snapshot_id)


@app.task(acks_late=True, ignore_result=True)
def referral_due_reminders() -> int:
    return referrals.referral_due_reminders()


@app.task(acks_late=True, ignore_result=True)
def case_retention_review() -> dict[str, int]:
    """Lists cases past their review date and, where the deployment opted in, erases those past
    it by the grace period with no hold; idempotent."""
    return cases_retention_review()


@app.task(acks_late=True, ignore_result=True)
def audit_checkpoint() -> int | None:
    """Sign the audit chain's head (Celery beat; nothing is signed when no event is new)."""
    checkpoint = checkpoint_sign(reason="schedule")
    return checkpoint.seq if checkpoint else None


@app.task(acks_late=True, ignore_result=True)
def audit_verify() -> int:
    """Walk the audit chain (Celery beat, daily); each problem is logged as an error for alerting.
    Returns how many there are."""
    report = verify_chain()
    for problem in report.problems:
        logging.getLogger("risk.audit").error("audit trail: %s", problem)
    return len(report.problems)


@app.task(bind=True, acks_late=True, ignore_result=True)
def referral_delivery_send(self: Any, delivery_id: str) -> str:
    """Sends a referral delivery's emails; safe to run again (each email is claimed before it is
    sent). An unreachable mail server is tried again with a doubling wait, DELIVERY_RETRIES times."""
    retries = int(settings.RISK["DELIVERY_RETRIES"])
    outcome = delivery_send.delivery_send(delivery_id=delivery_id, last_try=self.request.retries >= retries)
    if outcome == "retry":
        if self.request.is_eager:  # the embedded profile has no worker to come back later: now
            return str(referral_delivery_send.apply(args=(delivery_id,), retries=self.request.retries + 1).get())
        raise self.retry(countdown=delivery_send.retry_countdown(self.request.retries), max_retries=retries)
    return outcome


@app.task(acks_late=True, ignore_result=True)
def referral_delivery_reminders() -> dict[str, int]:
    return delivery_send.delivery_reminders()
