from django.db.backends.postgresql import base

from config.db import AfterTransaction


class DatabaseWrapper(AfterTransaction, base.DatabaseWrapper):
    pass
