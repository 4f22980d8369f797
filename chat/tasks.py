from chat import retention
from chat.services import sweeps
from config.celery import app


@app.task(acks_late=True, ignore_result=True)
def grace_sweep() -> dict[str, int]:
    """Backstop for the sweeps each daphne process schedules after a disconnect."""
    return sweeps.grace_sweep()


@app.task(acks_late=True, ignore_result=True)
def idle_close() -> int:
    """Closes chats left silent; idempotent."""
    return sweeps.idle_close()


@app.task(acks_late=True, ignore_result=True)
def retention_purge() -> int:
    """Erases old chats not attached to a case, keeping their anonymous statistics; idempotent."""
    return retention.retention_purge()
