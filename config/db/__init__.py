"""The database backends: Django's own, with one addition (`AfterTransaction`).

Django's `transaction.on_commit` runs work after a commit only. Some records must be written
whatever happens to the transaction they were made in - a refused access is recorded even when
the refusal rolls back everything around it - so these backends also run callbacks once the
outermost transaction has ended, committed or rolled back. A test case's own wrapping
transaction does not count as the outermost one: there the callbacks run inside it."""

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Callback = Callable[[], None]


class AfterTransaction:
    """Mixed into a DatabaseWrapper: `run_after_transaction(func)` runs `func` once no
    transaction of the application's is open on this connection any more."""

    in_atomic_block: bool
    needs_rollback: bool
    atomic_blocks: list[Any]

    def run_after_transaction(self, func: Callback) -> None:
        pending: list[Callback] = self.__dict__.setdefault("_after_transaction", [])
        pending.append(func)
        if self._transaction_over():
            self._run_after_transaction()

    def _transaction_over(self) -> bool:
        if not self.in_atomic_block:
            return True
        only_test_blocks = all(getattr(block, "_from_testcase", False) for block in self.atomic_blocks)
        return only_test_blocks and not self.needs_rollback

    def _run_after_transaction(self) -> None:
        pending: list[Callback] = self.__dict__.get("_after_transaction", [])
        while pending and self._transaction_over():
            func = pending.pop(0)
            try:
                func()
            except Exception:
                # Never hide the outcome of the transaction that just ended.
                log.exception("a callback after the transaction failed")

    def set_autocommit(self, autocommit: bool, force_begin_transaction_with_broken_autocommit: bool = False) -> None:
        super().set_autocommit(autocommit, force_begin_transaction_with_broken_autocommit)  # type: ignore[misc]
        if autocommit:
            self._run_after_transaction()

    def savepoint_commit(self, sid: str) -> None:
        super().savepoint_commit(sid)  # type: ignore[misc]
        self._run_after_transaction()

    def savepoint_rollback(self, sid: str) -> None:
        super().savepoint_rollback(sid)  # type: ignore[misc]
        self._run_after_transaction()
