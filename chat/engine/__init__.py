"""The realtime engine: what carries a chat between sockets, processes and the database, whatever
the chat is about.

- socket: what both websockets share (frame checks, rate limits, the reply envelope, in-order
  delivery of a conversation's entries); dispatch: the consumers' event loop; ratelimit, origins.
- events: channel-layer events, sent after commit, and the calls from sockets to services on
  the database thread; layers: the embedded profile's channel layer.
- queueing: coalesced queue broadcasts; presence: which server processes are alive.
- log_store, handoff_store, statements: the hot paths (a chat message, a take) written out.
"""
