"""Statements written out for the hot paths of Channels' one database thread.

Every socket of a daphne process hands its database work to one thread, so what each call costs
there is what the next one waits. Through the ORM a statement costs about ten times more in
Python (building the queryset, compiling it, building instances) than SQLite takes to run it,
and takes arriving together waited for each other (`python -m bench.take` measures a take).
The hot paths (chat.engine.log_store: a chat message and the log's other entries; chat.engine.handoff_store:
a take) build their statements here once per database vendor: names come only from the models'
metadata and are quoted, every value is a parameter, prepared as the ORM prepares it, and rows
are read back through the converters the ORM applies.
"""

import functools
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)


def database() -> BaseDatabaseWrapper:
    """The default connection. Each `django.db.connection.` attribute goes through a
    context-local lookup; the hot paths look it up once a statement."""
    return connections[DEFAULT_DB_ALIAS]


def table(model: type[Model]) -> str:
    return str(database().ops.quote_name(model._meta.db_table))


def column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    return str(database().ops.quote_name(str(field.column)))  # type: ignore[union-attr]


def marks(count: int) -> str:
    return ", ".join(["%s"] * count)


@functools.cache
def fields(model: type[Model], names: tuple[str, ...]) -> "tuple[Field[Any, Any], ...]":
    return tuple(model._meta.get_field(name) for name in names)  # type: ignore[misc]


@functools.cache
def concrete(model: type[Model]) -> tuple[str, ...]:
    """The model's stored fields' names (attnames), in the order `Model.from_db` takes them."""
    return tuple(field.attname for field in model._meta.concrete_fields)


def prep(model: type[Model], names: tuple[str, ...], values: Iterable[Any]) -> list[Any]:
    """Values as the ORM would pass them to this database (a name may be a field's attname)."""
    db = database()
    return [field.get_db_prep_save(value, db) for field, value in zip(fields(model, names), values, strict=True)]


def prep_each(model: type[Model], name: str, values: Iterable[Any]) -> list[Any]:
    """Several values of one field, prepared as `prep` does (for an IN list)."""
    db = database()
    field = model._meta.get_field(name)
    return [field.get_db_prep_save(value, db) for value in values]  # type: ignore[union-attr]


def lock(*, skip_locked: bool = False, of: str = "") -> str:
    """The locking clause ending a SELECT, as `select_for_update` writes it: none on SQLite,
    whose IMMEDIATE transactions (config.settings) hold the database's write lock from their
    first statement. `of`: the alias of the table whose rows are locked, in a join."""
    features = database().features
    if not features.has_select_for_update:
        return ""
    clause = " FOR UPDATE"
    if of and features.has_select_for_update_of:
        clause += f" OF {of}"
    if skip_locked and features.has_select_for_update_skip_locked:
        clause += " SKIP LOCKED"
    return clause


@functools.cache
def _readers(vendor: str, model: type[Model], names: tuple[str, ...]) -> tuple[tuple[Any, tuple[Any, ...]], ...]:
    """For each field: the column expression and the converters the ORM applies to its value."""
    db = database()
    readers = []
    for field in fields(model, names):
        col = field.get_col(model._meta.db_table)
        readers.append((col, tuple(db.ops.get_db_converters(col) + field.get_db_converters(db))))  # type: ignore[attr-defined]
    return tuple(readers)


def read(model: type[Model], names: tuple[str, ...], row: Sequence[Any]) -> list[Any]:
    """A row's values as the ORM would give them (UUIDs, aware datetimes, decoded JSON)."""
    db = database()
    values = []
    for (col, converters), value in zip(_readers(db.vendor, model, names), row, strict=True):
        for converter in converters:
            value = converter(value, col, db)
        values.append(value)
    return values


def instance(model: type[M], row: Sequence[Any]) -> M:
    """An instance from a row of all the model's stored fields, in `concrete` order, as a
    queryset builds it (saved, of the default database)."""
    names = concrete(model)
    return model.from_db(DEFAULT_DB_ALIAS, list(names), read(model, names, row))


def select_list(model: type[Model], alias: str) -> str:
    """`alias.column, ...` of every stored field, in `concrete` order."""
    db = database()
    return ", ".join(f"{alias}.{db.ops.quote_name(field.column)}" for field in model._meta.concrete_fields)


@functools.cache
def _insert_sql(vendor: str, model: type[Model], names: tuple[str, ...]) -> str:
    columns = ", ".join(column(model, name) for name in names)
    pk = column(model, model._meta.pk.name)
    return f"INSERT INTO {table(model)} ({columns}) VALUES ({marks(len(names))}) RETURNING {pk}"  # noqa: S608


def insert(model: type[Model], values: dict[str, Any]) -> Any:
    """Insert one row of these values (by attname) and return its primary key."""
    db = database()
    names = tuple(values)
    with db.cursor() as cursor:
        cursor.execute(_insert_sql(db.vendor, model, names), prep(model, names, values.values()))
        row = cursor.fetchone()
    return read(model, (model._meta.pk.name,), row)[0]


@functools.cache
def _update_sql(vendor: str, model: type[Model], names: tuple[str, ...]) -> str:
    assignments = ", ".join(f"{column(model, name)} = %s" for name in names)
    pk = column(model, model._meta.pk.name)
    return f"UPDATE {table(model)} SET {assignments} WHERE {pk} = %s"  # noqa: S608


def update(model: type[Model], pk: Any, values: dict[str, Any]) -> int:
    """Set these values (by attname) on one row; the number of rows changed."""
    db = database()
    names = tuple(values)
    params = [*prep(model, names, values.values()), *prep(model, (model._meta.pk.name,), (pk,))]
    with db.cursor() as cursor:
        cursor.execute(_update_sql(db.vendor, model, names), params)
        return int(cursor.rowcount)


@functools.cache
def _lock_one_sql(vendor: str, model: type[Model], name: str) -> str:
    return (
        f"SELECT {select_list(model, 't')} FROM {table(model)} t "  # noqa: S608
        f"WHERE t.{column(model, name)} = %s{lock()}"
    )


def lock_one(model: type[M], name: str, value: Any) -> M | None:
    """The row whose field `name` is `value` (a unique field), locked until the transaction
    ends, as `select_for_update().filter(name=value).first()` would give it."""
    db = database()
    with db.cursor() as cursor:
        cursor.execute(_lock_one_sql(db.vendor, model, name), prep(model, (name,), (value,)))
        row = cursor.fetchone()
    return None if row is None else instance(model, row)
