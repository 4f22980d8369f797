from django.db.backends.sqlite3 import base

from config.db import AfterTransaction


class DatabaseWrapper(AfterTransaction, base.DatabaseWrapper):
    pass
