"""A real daphne process on the embedded profile (its own SQLite file), for browser tests and
end-to-end checks. Tests reach it only as a browser or client would, plus `manage()` for setup
and for reading state back."""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from harness import servers
from harness.servers import ROOT, free_port

__all__ = ["ROOT", "LiveServer", "embedded_server", "free_port"]


@dataclass
class LiveServer:
    port: int
    env: dict[str, str]
    log: Path | None = None  # daphne's output (stdout and stderr) while it runs
    daemon: servers.Process | None = None
    extra_origins: list[str] = field(default_factory=list)
    daphne_args: list[str] = field(default_factory=list)  # more of daphne's options (config/server.py)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def process(self) -> "subprocess.Popen[bytes] | None":
        return self.daemon.process if self.daemon is not None else None

    def output(self) -> str:
        """What daphne wrote to stdout and stderr so far."""
        return self.daemon.log_text() if self.daemon is not None else ""

    def manage(self, *args: str) -> str:
        """Run a management command against this server's database; returns its output."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "--no-imports", "-c", code)

    def start(self) -> None:
        self.daemon = servers.daphne("daphne", env=self.env, log=self.log, port=self.port, args=self.daphne_args)

    def stop(self) -> None:
        if self.daemon is not None and self.daemon.alive():
            self.daemon.stop()


def embedded_server(
    tmp: Path, *, extra_origins: list[str] | None = None, env: dict[str, str] | None = None
) -> LiveServer:
    """Migrated, with the standard queues and demo staff, not yet started."""
    port = free_port()
    own = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
    server_env = {
        key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL", "TEST_DB_NAME")
    }
    server_env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SQLITE_PATH": str(tmp / "live.sqlite3"),
            "SIGNING_KEY_DIR": str(tmp / "signing-keys"),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "WIDGET_ALLOWED_ORIGINS": ",".join(own + (extra_origins or [])),
            "CONSOLE_ALLOWED_ORIGINS": ",".join(own),
            # Quick exit lands on this server's own home page: tests reach no other site.
            "CHAT_QUICK_EXIT_URL": f"http://127.0.0.1:{port}/?left=1",
            # Tests change staff, hours and queues through manage.py while the server runs.
            "REFERENCE_CACHE": "off",
            **(env or {}),
        }
    )
    server = LiveServer(port=port, env=server_env, log=tmp / "daphne.log", extra_origins=extra_origins or [])
    _copy_migrated_template(server_env, tmp)
    return server


_template: Path | None = None


def _copy_migrated_template(server_env: dict[str, str], tmp: Path) -> None:
    """Gives `tmp` a database that is migrated and has the demo staff. Migrating and seeding take
    most of a server's start, and every server of a test run starts from the same state: the first
    server of the run makes it once, in a directory of its own, and each server gets a copy."""
    global _template
    if _template is None:
        made = Path(tempfile.mkdtemp(prefix="live-template-"))
        atexit.register(shutil.rmtree, made, True)
        seed = LiveServer(
            port=0,
            env={
                **server_env,
                "SQLITE_PATH": str(made / "live.sqlite3"),
                "SIGNING_KEY_DIR": str(made / "signing-keys"),
            },
        )
        seed.manage("migrate", "--noinput", "-v", "0")
        seed.manage("demo_setup", "--staff")
        _template = made
    for entry in _template.iterdir():
        if entry.is_dir():
            shutil.copytree(entry, tmp / entry.name, dirs_exist_ok=True)
        else:
            shutil.copy2(entry, tmp / entry.name)
