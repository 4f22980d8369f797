from typing import Any

from django.db.backends.sqlite3 import base

from config.db import AfterTransaction


class DatabaseWrapper(AfterTransaction, base.DatabaseWrapper):
    # The page cache of this connection, in KiB, when it is to be smaller than SQLite's
    # default: set before it connects (config.connections: an HTTP request's).
    page_cache_kib: int | None = None

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        if self.page_cache_kib is not None:
            connection.execute(f"PRAGMA cache_size = -{int(self.page_cache_kib)}")
        return connection
