"""Deployment checks for the signing keys (run by `manage.py check --deploy`)."""

import stat
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def signing_key_dir(app_configs: Any, **kwargs: Any) -> list[Error]:
    directory = Path(settings.SIGNING_KEY_DIR)
    if not directory.is_dir():
        return [
            Error(
                f"SIGNING_KEY_DIR {directory} is not a directory.",
                hint="Create it (mode 0700, owned by the service user), then run `manage.py signing_key generate`.",
                id="risk.E001",
            )
        ]
    if stat.S_IMODE(directory.stat().st_mode) & 0o077:
        return [
            Error(
                f"SIGNING_KEY_DIR {directory} can be read by other users.",
                hint=f"chmod 700 {directory} and chmod 600 the key files in it.",
                id="risk.E002",
            )
        ]
    static_root = getattr(settings, "STATIC_ROOT", None)
    if static_root and directory.resolve().is_relative_to(Path(static_root).resolve()):
        return [Error("SIGNING_KEY_DIR is inside STATIC_ROOT, which the web server serves.", id="risk.E003")]
    return []
