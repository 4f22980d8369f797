"""What a handoff costs Channels' database thread: `queue_take_next` and `conversation_accept`
called in a loop on one thread, as that thread runs them, commit hooks included, with their
broadcasts gathered (not sent), on a fresh SQLite file. Each round queues ten chats, as several
arrive between two queue snapshots under a full load, and ten advisors on shift take them one
after another. Reported per take: wall and CPU time, and the statements it ran (its BEGIN
counted, not its COMMIT; a statement is a few hundred microseconds of ORM and SQLite on the
database thread). Prints one JSON line.

    .venv/bin/python -m bench.take        # BENCH_TAKES (1000) of each kind
"""

import json
import os
import time
from collections.abc import Callable
from typing import Any

from bench.inprocess import embedded_django
from bench.message_write import ANSWERS

ROUND = 10


def main() -> None:
    embedded_django("take")
    print(json.dumps(measure(int(os.environ.get("BENCH_TAKES", "1000")))))  # noqa: T201


def measure(n: int) -> dict[str, Any]:
    from django.db import connection

    from chat.engine import events, queueing
    from chat.services.handoff import conversation_accept, queue_take_next
    from chat.services.kernel import staff_actor
    from chat.services.staff import availability_set
    from chat.services.visitor import conversation_start, triage_submit, visitor_create
    from tests import factories

    factories.queues()
    advisors = []
    for _ in range(ROUND):
        user = factories.staff(capacity=n)
        actor = staff_actor(user_id=user.pk)
        availability_set(actor=actor, availability="on_shift")
        advisors.append(actor)
    outbox: list[events.Event] = []
    events._outbox.set(outbox)  # as in a socket's database call: gathered, sent by the caller
    # Not on a running loop here, a queue change would be broadcast at once; in the server it
    # is scheduled on the loop and sent at most every few hundred ms (chat.engine.queueing).
    queueing_refresh = queueing.refresh
    queueing.refresh = lambda queue_id, *, staff=True: None

    def queue(count: int) -> list[Any]:
        made = []
        for _ in range(count):
            visitor, _ = visitor_create()
            conversation = conversation_start(visitor_id=visitor.pk, conn_id="bench:1")
            triage_submit(visitor_id=visitor.pk, answers=ANSWERS, conversation_id=conversation.pk)
            made.append(conversation.pk)
        return made

    def run(count: int, take: Callable[[Any, Any], Any]) -> dict[str, float]:
        wall = cpu = 0.0
        statements = [0]

        def counted(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            statements[0] += 1
            return execute(sql, params, many, context)

        for _ in range(count // ROUND):
            chats = queue(ROUND)
            for actor, conversation_id in zip(advisors, chats, strict=True):
                with connection.execute_wrapper(counted):
                    started, started_cpu = time.perf_counter(), time.process_time()
                    take(actor, conversation_id)
                    wall += time.perf_counter() - started
                    cpu += time.process_time() - started_cpu
                outbox.clear()
        takes = count // ROUND * ROUND
        return {
            "wall_us": round(wall / takes * 1e6, 1),
            "cpu_us": round(cpu / takes * 1e6, 1),
            "statements": round(statements[0] / takes, 1),
        }

    def take_next(actor: Any, _: Any) -> Any:
        return queue_take_next(actor=actor)

    def accept(actor: Any, conversation_id: Any) -> Any:
        return conversation_accept(actor=actor, conversation_id=conversation_id)

    try:
        results: dict[str, Any] = {"takes": n // ROUND * ROUND}
        for kind, take in (("take_next", take_next), ("accept", accept)):
            run(max(ROUND, n // 10), take)  # warm-up
            results[kind] = run(n, take)
        return results
    finally:
        queueing.refresh = queueing_refresh


if __name__ == "__main__":
    main()
