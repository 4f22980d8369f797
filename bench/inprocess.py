"""Set-up shared by the in-process benchmarks (bench/arrival.py, bench/message_write.py)."""

import os
import tempfile
from pathlib import Path


def embedded_django(name: str, **environment: str) -> None:
    """Django on the embedded profile with a fresh, migrated SQLite file of its own."""
    folder = tempfile.mkdtemp(prefix=f"bench-{name}-")
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SQLITE_PATH": str(Path(folder) / f"{name}.sqlite3"),
            "LOG_LEVEL": "WARNING",
            **environment,
        }
    )
    for variable in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(variable, None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
