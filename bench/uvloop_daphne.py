"""daphne on uvloop's event loop, for comparison (`BENCH_EVENT_LOOP=uvloop make bench`).

daphne builds its event loop when `daphne.server` is first imported, from the event loop policy
of that moment, so the policy is set before the command line runs; Twisted's asyncio reactor
accepts uvloop's loop (Twisted 21.7 and later). Not how the product is started: a measurement.
"""

import asyncio

import uvloop

asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

from daphne.cli import CommandLineInterface  # noqa: E402

if __name__ == "__main__":
    CommandLineInterface.entrypoint()
