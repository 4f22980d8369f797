"""`make chaos`: failure injection on the scaled profile, with real processes.

Each scenario gets its own PostgreSQL database (copied from a migrated template) and its own
redis-server on a free port - never the shared Redis - plus real daphne processes (and Celery
workers for the export). Protocol v1 clients chat at a steady rhythm, the fault is injected, and
the chat goes on. A client does what the widget and the console do: it keeps each message until
the server answers it and sends it again with the same client_msg_id after an error or a
reconnection, resumes with its last sequence number, and asks for a sync when it sees a gap.

A scenario passes only when, counted against the database: nothing acknowledged or stored is
missing at its recipient (lost), no message reached a client twice or was stored twice
(duplicated), every message of a client still there was acknowledged, and every chat carried
messages both ways after the fault (recovered). Recovery time is from the fault to the first
delivery of a message first sent after it.

Results go to bench-results/chaos.json; the exit status is non-zero if any scenario failed.
Only 127.0.0.1 is contacted; every wait is bounded; processes and databases are removed at the
end, even on failure. `CHAOS_SCENARIOS=a,c` runs some of them (names or letters).
"""
