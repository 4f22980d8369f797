"""One scenario's servers: a database copied from a migrated template, a private redis-server,
and the daphne and Celery processes the scenario starts."""

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from harness import servers
from harness.servers import ROOT, Process

PG = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
ORIGIN = "http://chaos.test"
TRIAGE = {"safe_to_talk": "yes", "in_danger": "no", "about": "myself", "help": []}
ADVISORS = 4  # sessions prepared in the template; a scenario uses two or three


def pg(database: str = "postgres") -> psycopg.Connection[Any]:
    return psycopg.connect(f"{PG}/{database}", autocommit=True, connect_timeout=5)


def drop_database(name: str) -> None:
    with pg() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Template:
    """A migrated database with the queues and advisors' verified console sessions; each scenario
    gets a copy (sessions live in the database, so the cookies hold in every copy)."""

    def __init__(self) -> None:
        self.name = f"chaos_tpl_{uuid.uuid4().hex[:8]}"
        self.cookies: list[str] = []

    def create(self) -> None:
        with pg() as admin:
            admin.execute(f'CREATE DATABASE "{self.name}"')
        env = base_env()
        env["DATABASE_URL"] = f"{PG}/{self.name}"
        for args in (["manage.py", "migrate", "--noinput", "-v", "0"], ["manage.py", "demo_setup"]):
            run_python(env, *args)
        out = run_python(env, "-m", "bench.prepare", "--advisors", str(ADVISORS), "--capacity", "10")
        self.cookies = json.loads(out.strip().splitlines()[-1])

    def drop(self) -> None:
        drop_database(self.name)


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TEST_DB_NAME")}
    env.update(
        {
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "WIDGET_ALLOWED_ORIGINS": ORIGIN,
            "CONSOLE_ALLOWED_ORIGINS": ORIGIN,
            "CHAT_RATE_PER_SECOND": "1000",
            "CHAT_RATE_BURST": "1000",
            "VISITOR_GRACE_SECONDS": "600",
            "ADVISOR_GRACE_SECONDS": "600",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def run_python(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result.stdout


class Stack:
    """One scenario's servers: a database copied from the template, a private redis-server and
    whatever daphne and Celery processes the scenario starts. `close()` removes them all."""

    def __init__(self, template: Template, name: str, **env: str) -> None:
        self.template = template
        self.database = f"chaos_{name}_{uuid.uuid4().hex[:6]}"
        self.tmp = Path(tempfile.mkdtemp(prefix=f"chaos-{name}-"))
        self.redis_port = servers.free_port()
        self.redis: Process | None = None
        self.procs: list[Process] = []
        self.env = base_env()
        self.env.update(
            {
                "DATABASE_URL": f"{PG}/{self.database}",
                "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                "CHANNEL_PREFIX": f"chaos-{name}",
                "CELERY_QUEUE": f"chaos-{name}",
                **env,
            }
        )

    def open(self) -> "Stack":
        with pg() as admin:
            admin.execute(f'CREATE DATABASE "{self.database}" TEMPLATE "{self.template.name}"')
        self.start_redis()
        return self

    def start_redis(self) -> None:
        command = ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--daemonize", "no"]
        self.redis = servers.spawn("redis", command, env=self.env, log=self.tmp / "redis.log", port=self.redis_port)
        servers.wait_listening(self.redis)

    def daphne(self, count: int, **env: str) -> list[Process]:
        batch = []
        for _ in range(count):
            name = f"daphne-{len([p for p in self.procs if p.name.startswith('daphne')]) + 1}"
            proc = servers.daphne(
                name, env={**self.env, **env}, log=self.tmp / f"{name}.log", new_session=True, wait=False
            )
            self.procs.append(proc)
            batch.append(proc)
        servers.wait_listening(*batch)
        return batch

    def celery_worker(self, name: str, **env: str) -> Process:
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo"]
        command += ["-Q", self.env["CELERY_QUEUE"], "-n", f"{name}@chaos", "--loglevel", "INFO", "--without-gossip"]
        command += ["--without-mingle", "--without-heartbeat"]
        proc = servers.spawn(name, command, env={**self.env, **env}, log=self.tmp / f"{name}.log", new_session=True)
        self.procs.append(proc)
        return proc

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with pg(self.database) as conn:
            cursor = conn.execute(query, params)
            return list(cursor.fetchall()) if cursor.description else []

    def logs(self) -> str:
        return "\n".join(p.tail() for p in self.procs)

    def close(self) -> None:
        # A polite stop first; daphne may take its application close timeout (10 s) to go.
        with contextlib.suppress(Exception):
            servers.stop_all(self.procs, grace=2)
        if self.redis is not None:
            self.redis.kill()
        with contextlib.suppress(Exception):
            drop_database(self.database)


@contextlib.contextmanager
def stack(template: Template, name: str, **env: str) -> Iterator[Stack]:
    servers = Stack(template, name, **env)
    try:
        yield servers.open()
    finally:
        servers.close()


@contextlib.contextmanager
def template_database() -> Iterator[Template]:
    template = Template()
    try:
        template.create()
        yield template
    finally:
        with contextlib.suppress(Exception):
            template.drop()
