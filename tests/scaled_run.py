"""Runs the test suite again on the scaled profile: PostgreSQL (pooled) and the Redis channel
layer, plus the tests marked `scaled` (several daphne processes, real concurrency).

TEST_DATABASE_URL and TEST_REDIS_URL point at the servers (defaults: the local ones). When they
cannot be reached the run is skipped with a message - except under CI=true, where it fails.
"""

import os
import socket
import subprocess
import sys
import uuid
from urllib.parse import urlparse

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def main() -> int:
    database_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL)
    missing = [
        name
        for name, url, port in (("PostgreSQL", database_url, 5432), ("Redis", redis_url, 6379))
        if not reachable(url, port)
    ]
    if missing:
        message = f"scaled profile: {', '.join(missing)} not reachable ({database_url}, {redis_url})"
        if os.environ.get("CI") == "true":
            print(f"FAILED {message}", file=sys.stderr)  # noqa: T201
            return 1
        print(f"SKIPPED {message}; set TEST_DATABASE_URL / TEST_REDIS_URL to run it")  # noqa: T201
        return 0
    run_id = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        # Keeps concurrent runs (and their leftovers) apart on a shared Redis.
        "CHANNEL_PREFIX": f"test-{run_id}",
        "TEST_DB_NAME": f"test_chat_{run_id}",
    }
    args = [sys.executable, "-m", "pytest", "-m", "not browser", *sys.argv[1:]]
    return subprocess.call(args, env=env)


if __name__ == "__main__":
    sys.exit(main())
