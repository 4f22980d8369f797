"""Every state change of visitors, conversations and the staff in them, one module for each kind
of change: visitor, message, handoff, staff, supervision, sweeps and status, around the kernel
(the log, the permission gates, closing a chat) and the state notices (notices).

Guarantees (docs/protocol.md explains them to clients):
- An entry is written, with its sequence number, before anything is acknowledged or broadcast;
  broadcasts go out only after the transaction commits (events.emit_on_commit).
- A resend with a client_msg_id already stored returns the stored entry, never a duplicate.
- Sequence numbers come from the conversation row, locked for the write, so only writers to
  the same conversation wait for each other.
- Accepting is decided under the conversation's row lock: of several advisors accepting at once
  exactly one finds it still queued. Rows are locked in one order: staff profile, then
  conversation.
"""
