"""A real Celery worker process on the scaled profile's Redis broker and test database."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from tests.support.live import ROOT


@contextmanager
def celery_worker() -> Iterator[str]:
    """Starts a worker on a queue of its own; yields the queue name once the worker answers."""
    from config.celery import app

    queue = f"test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_QUEUE": queue,
    }
    hostname = f"{queue}@test"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "-Q",
            queue,
            "-n",
            hostname,
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while not app.control.ping(destination=[hostname], timeout=0.5):
            if worker.poll() is not None or time.monotonic() > deadline:
                output = worker.stdout.read().decode() if worker.stdout else ""
                raise RuntimeError(f"celery worker did not start:\n{output}")
        yield queue
    finally:
        worker.terminate()
        worker.wait(10)
