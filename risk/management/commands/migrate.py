"""`migrate`, run as the database's owner role when MIGRATION_DATABASE_URL is set, then granting
the runtime role (DATABASE_URL's user) what the server and workers need (config/db/privileges)."""

from typing import Any

import dj_database_url
from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import migrate
from django.db import DEFAULT_DB_ALIAS, connections

from config.db.privileges import grant_runtime


class Command(migrate.Command):
    help = migrate.Command.help + (
        " With MIGRATION_DATABASE_URL set, connects as that (owner) role and then grants the runtime "
        "role of DATABASE_URL its rights."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        owner_url = getattr(settings, "MIGRATION_DATABASE_URL", "")
        connection = connections[options["database"]]
        if not owner_url or options["database"] != DEFAULT_DB_ALIAS:
            super().handle(*args, **options)
            return
        if connection.vendor != "postgresql":
            raise CommandError("MIGRATION_DATABASE_URL is for PostgreSQL; leave it unset with SQLite.")
        runtime_role = connection.settings_dict["USER"]
        owner = dj_database_url.parse(owner_url)
        if not owner.get("USER"):
            raise CommandError("MIGRATION_DATABASE_URL names no role: give the owner role's user name.")
        # Same database (whatever this run's name for it is), the owner's credentials.
        connection.close()
        close_pool = getattr(connection, "close_pool", None)
        if close_pool is not None:
            close_pool()
        options_without_pool = {k: v for k, v in connection.settings_dict.get("OPTIONS", {}).items() if k != "pool"}
        connection.settings_dict.update(
            {key: owner[key] for key in ("USER", "PASSWORD", "HOST", "PORT") if owner.get(key) is not None}
        )
        connection.settings_dict["OPTIONS"] = options_without_pool
        super().handle(*args, **options)
        if runtime_role and runtime_role != owner["USER"]:
            statements = grant_runtime(connection, runtime_role=runtime_role)
            if options["verbosity"] >= 1:
                self.stdout.write(f"Granted {runtime_role} its rights ({len(statements)} statements).")
