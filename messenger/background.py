"""Telegram calls off the caller's thread where no Celery worker runs (the embedded profile).

There, Celery runs each task in the thread that queued it, and an advisor's message queues its
delivery from the thread every socket of the process shares for the database: Telegram's answer,
its rate limits and the back-off while it is down would hold every chat of the process. One
thread of the process takes those calls in turn instead. Where a worker runs, or with
TELEGRAM_DELIVERY_THREAD=false (the tests, for a deterministic order), the task is queued as
usual.
"""

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from django.db import connections

logger = logging.getLogger(__name__)

_jobs: "queue.Queue[tuple[Callable[..., Any], tuple[Any, ...]]]" = queue.Queue()
_thread: threading.Thread | None = None
_started = threading.Lock()


def submit(job: Callable[..., Any], *args: Any) -> None:
    """Run `job(*args)` on the process's delivery thread, after the jobs already given to it."""
    global _thread
    with _started:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_work, name="telegram-delivery", daemon=True)
            _thread.start()
    _jobs.put((job, args))


def _work() -> None:
    while True:
        job, args = _jobs.get()
        try:
            job(*args)
        except Exception:  # one failed job must not stop the thread; the sweep comes back to it
            logger.exception("telegram background job failed")
        finally:
            connections.close_all()
            _jobs.task_done()


def wait_idle() -> None:
    """Until every job given so far has run (tests, and a clean shutdown)."""
    _jobs.join()
