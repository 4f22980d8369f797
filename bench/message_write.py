"""What writing a chat message costs Channels' database thread: `message_send_visitor` and
`message_send_staff` called in a loop on one thread, as that thread runs them, with their
broadcasts gathered (not sent), on a fresh SQLite file. Reported per message, wall and CPU, for
the one path every message takes (the sender's gate, then chat.engine.log_store); then the
visitor's message and an empty call as a socket makes them,
from an event loop through `events.database_call`, to show what handing a call to the database
thread costs on top; what the writing relay of `make bench` stores per frame beside a visitor's
message and its parts; and a console's periodic access check (`agents.auth.staff_session_allows`,
every 20 s of a console's use) beside the ORM's two queries it replaced. Prints one JSON line.

    .venv/bin/python -m bench.message_write        # BENCH_MESSAGES (2000) of each side, per path
"""

import asyncio
import json
import os
import time
from typing import Any

from bench.inprocess import embedded_django

ANSWERS: dict[str, str | list[str]] = {"safe_to_talk": "yes", "in_danger": "no", "about": "myself", "help": []}


def main() -> None:
    embedded_django("message-write")
    print(json.dumps(measure(int(os.environ.get("BENCH_MESSAGES", "2000")))))  # noqa: T201


def per_call(wall: float, cpu: float, calls: int) -> dict[str, float]:
    """Wall and CPU microseconds a call since `time.perf_counter()` and `time.process_time()`
    read `wall` and `cpu`."""
    return {
        "wall_us": round((time.perf_counter() - wall) / calls * 1e6, 1),
        "cpu_us": round((time.process_time() - cpu) / calls * 1e6, 1),
    }


def measure(n: int) -> dict[str, Any]:
    from agents.models import StaffProfile
    from chat.engine import events
    from chat.services.handoff import conversation_accept
    from chat.services.kernel import staff_actor
    from chat.services.message import message_send_staff, message_send_visitor
    from chat.services.staff import availability_set
    from chat.services.visitor import conversation_start, triage_submit, visitor_create
    from tests import factories

    factories.queues()
    user = factories.staff()
    StaffProfile.objects.filter(user=user).update(capacity=1000)
    actor = staff_actor(user_id=user.pk)
    availability_set(actor=actor, availability="on_shift")
    chats = []
    for _ in range(50):
        visitor, _ = visitor_create()
        conversation = conversation_start(visitor_id=visitor.pk, conn_id="bench:1")
        triage_submit(visitor_id=visitor.pk, answers=ANSWERS, conversation_id=conversation.pk)
        conversation_accept(actor=actor, conversation_id=conversation.pk)
        chats.append((visitor.pk, conversation.pk))
    outbox: list[events.Event] = []
    events._outbox.set(outbox)  # as in a socket's database call: gathered, sent by the caller

    def run(tag: str, count: int) -> dict[str, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(count):
            visitor_id, conversation_id = chats[i % len(chats)]
            message_send_visitor(
                visitor_id=visitor_id,
                client_msg_id=f"{tag}v{i}",
                text="Hello, is anyone there?",
                conversation_id=conversation_id,
            )
            message_send_staff(
                actor=actor,
                conversation_id=conversation_id,
                client_msg_id=f"{tag}a{i}",
                text="Hello, you are through to the helpline.",
                kind="text",
            )
            outbox.clear()
        return per_call(wall, cpu, 2 * count)

    results: dict[str, Any] = {"messages": 2 * n}
    run("warm", max(50, n // 10))
    results["send"] = run("send", n)
    results["beside_the_writing_relay"] = beside_the_writing_relay(chats, n)
    results["through_database_call"] = asyncio.run(through_database_call(chats, n))
    results["access_check"] = access_check(user, n)
    return results


def beside_the_writing_relay(chats: list[tuple[Any, Any]], n: int) -> dict[str, dict[str, float]]:
    """What the benchmark's writing relay (bench/relay.py) stores per frame, one INSERT and its
    commit, beside a visitor's message and its parts: an empty transaction, the visitor's gate
    alone (the row locked and read), with the entry appended (`log_store.append`), and the entry's
    payloads for its two audiences; then each table's INSERT and commit straight through
    sqlite3. On the database thread, per call, broadcasts gathered."""
    from django.db import connection, transaction

    from bench.relay import TABLE_DDL, _store_then_broadcast
    from chat.engine import events, log_store, statements
    from chat.models import Message
    from chat.services.kernel import entry_broadcast, visitor_conversation_locked
    from chat.services.message import message_send_visitor

    with connection.cursor() as cursor:
        cursor.execute(TABLE_DDL)
    outbox = events._outbox.get()
    assert outbox is not None

    def relay_store(tag: str, i: int) -> None:
        _store_then_broadcast("bench", "bench", f"r|{tag}{i}|0")

    def empty_transaction(tag: str, i: int) -> None:
        with transaction.atomic():
            pass

    def visitor_gate(tag: str, i: int) -> None:
        visitor_id, conversation_id = chats[i % len(chats)]
        with transaction.atomic():
            visitor_conversation_locked(visitor_id, conversation_id, for_entry=True)

    def visitor_gate_and_append(tag: str, i: int) -> None:
        visitor_id, conversation_id = chats[i % len(chats)]
        with transaction.atomic():
            log_store.append(
                visitor_conversation_locked(visitor_id, conversation_id, for_entry=True),
                public=True,
                kind=Message.Kind.TEXT,
                client_msg_id=f"{tag}{i}",
                sender_kind=Message.Sender.VISITOR,
                text="Hello, is anyone there?",
            )

    def visitor_message(tag: str, i: int) -> None:
        visitor_id, conversation_id = chats[i % len(chats)]
        message_send_visitor(
            visitor_id=visitor_id,
            client_msg_id=f"{tag}{i}",
            text="Hello, is anyone there?",
            conversation_id=conversation_id,
        )

    stored = Message.objects.filter(kind=Message.Kind.TEXT).first()
    assert stored is not None

    def entry_payloads(tag: str, i: int) -> None:
        entry_broadcast(stored)

    # The two INSERTs straight through sqlite3, without Django's transaction, cursor wrapping
    # and value preparation: what SQLite itself costs for each row.
    raw = connection.connection
    message_insert = statements._insert_sql(connection.vendor, Message, MESSAGE_COLUMNS).replace("%s", "?")
    sequence = iter(range(10**9, 2 * 10**9))

    def sqlite_message_insert(tag: str, i: int) -> None:
        _, conversation_id = chats[i % len(chats)]
        row = [
            conversation_id.hex,
            next(sequence),
            None,
            f"{tag}{i}",
            "text",
            "visitor",
            None,
            "",
            "",
            "{}",
            "Hi",
            "2026-12-06 12:00:00",
        ]
        raw.execute("BEGIN IMMEDIATE")
        raw.execute(message_insert, row).fetchone()
        raw.execute("COMMIT")

    def sqlite_relay_insert(tag: str, i: int) -> None:
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("INSERT INTO bench_relay_message (body) VALUES (?)", [f"r|raw-{tag}{i}|0"])
        raw.execute("COMMIT")

    def timed(tag: str, call: Any) -> dict[str, float]:
        for i in range(max(50, n // 10)):
            call(f"warm-{tag}", i)
            outbox.clear()
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(n):
            call(tag, i)
            outbox.clear()
        return per_call(wall, cpu, n)

    return {
        "writing_relay_store": timed("relay-", relay_store),
        "visitor_message": timed("parts-v-", visitor_message),
        "empty_transaction": timed("empty-", empty_transaction),
        "visitor_gate": timed("gate-", visitor_gate),
        "visitor_gate_and_append": timed("append-", visitor_gate_and_append),
        "entry_payloads": timed("payloads-", entry_payloads),
        "sqlite3_alone_message_insert": timed("raw-", sqlite_message_insert),
        "sqlite3_alone_relay_insert": timed("raw-", sqlite_relay_insert),
    }


# chat.engine.log_store's INSERT of a message, in the order `insert_entry` gives its values.
MESSAGE_COLUMNS = (
    "conversation_id",
    "seq",
    "public_seq",
    "client_msg_id",
    "kind",
    "sender_kind",
    "sender_user_id",
    "sender_name",
    "event",
    "data",
    "text",
    "created_at",
)


def access_check(user: Any, n: int) -> dict[str, dict[str, float]]:
    """CPU a console's periodic access check costs the database thread: the one statement, and
    the two ORM queries (profile, then django-otp's device lookup) it stands in for."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.models import Device
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from agents import auth
    from agents.models import StaffProfile

    device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    session = {DEVICE_ID_SESSION_KEY: device.persistent_id}

    def through_the_orm() -> bool:
        found = Device.from_persistent_id(device.persistent_id)
        return (
            StaffProfile.objects.filter(user_id=user.pk, user__is_active=True).exists()
            and found is not None
            and found.user_id == user.pk
            and found.confirmed
        )

    def timed(check: Any) -> dict[str, float]:
        assert check()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            check()
        return per_call(wall, cpu, n)

    return {
        "one_statement": timed(lambda: auth.staff_session_allows(session, user.pk)),
        "orm_two_queries": timed(through_the_orm),
    }


def _nothing() -> None:
    return None


async def through_database_call(chats: list[tuple[Any, Any]], n: int) -> dict[str, dict[str, float]]:
    """The same visitor message as a socket sends it, from an event loop onto Channels' database
    thread, one at a time and 20 at once, through `events.database_call` and through
    `events.batched_database_call` (as sockets send it); and an empty call, which is what the
    hand-over alone costs. CPU is the process's, both threads."""
    from chat.engine import events
    from chat.services.message import message_send_visitor

    one_by_one = events.database_call(message_send_visitor)
    batched = events.batched_database_call(message_send_visitor)
    empty = events.database_call(_nothing)

    async def timed(tag: str, at_once: int, message: bool, send: Any = one_by_one) -> dict[str, float]:
        async def one_caller(first: int) -> None:
            for i in range(first, n, at_once):
                if message:
                    visitor_id, conversation_id = chats[i % len(chats)]
                    await send(
                        visitor_id=visitor_id,
                        client_msg_id=f"{tag}{i}",
                        text="Hello, is anyone there?",
                        conversation_id=conversation_id,
                    )
                else:
                    await empty()

        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one_caller(first) for first in range(at_once)))
        return per_call(wall, cpu, n)

    await timed("warm", 1, True)
    return {
        "visitor_message_one_at_a_time": await timed("hop1-", 1, True),
        "visitor_message_20_at_once": await timed("hop20-", 20, True),
        "visitor_message_20_at_once_batched": await timed("batch20-", 20, True, batched),
        "visitor_message_one_at_a_time_batched": await timed("batch1-", 1, True, batched),
        "empty_call_one_at_a_time": await timed("", 1, False),
        "empty_call_20_at_once": await timed("", 20, False),
    }


if __name__ == "__main__":
    main()
