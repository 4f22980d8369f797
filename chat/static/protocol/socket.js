// The client end of protocol v1, shared by the visitor's chat and the staff console: requests
// with their replies, entries kept in order per conversation (a gap asks the server for a
// `sync`, which replays in order), and reconnecting with a growing wait.
//
// The page decides what a connection means: it says what `hello` carries, listens for
// "hello" (the server's answer to it), "close" (the socket dropped; call reconnectLater() to
// try again) and "error" (any failed reply, before its request settles), and for the server's
// own message types ("entry", "status", "queue" ...), each by its `type`.
// Served no-store like the rest of the visitor's files, and keeps nothing on the device.

const FIRST_WAIT_MS = 500;

export class ProtocolSocket {
  constructor({ path, idPrefix, offlineMessage, maxWaitMs, hello, syncFields, follows = () => true }) {
    this.path = path;
    this.idPrefix = idPrefix;
    this.offlineMessage = offlineMessage;
    this.maxWaitMs = maxWaitMs;
    this.helloFields = hello;
    this.syncFields = syncFields; // (conversation id, last seq) -> the `sync` request's fields
    this.follows = follows; // (entry) -> false for entries the page no longer shows
    this.handlers = new Map();
    this.pending = new Map(); // request id -> { resolve, reject }
    this.lastSeq = new Map(); // conversation id -> last seq shown
    this.nextId = 1;
    this.waitMs = FIRST_WAIT_MS;
    this.ws = null;
    this.stopped = false;
  }

  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, []);
    this.handlers.get(type).push(handler);
  }

  emit(type, message) {
    for (const handler of this.handlers.get(type) || []) handler(message);
  }

  get open() {
    return Boolean(this.ws) && this.ws.readyState === WebSocket.OPEN;
  }

  connect() {
    if (this.stopped) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${this.path}`);
    this.ws = ws;
    ws.addEventListener("open", () => this.greet());
    ws.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    ws.addEventListener("close", (event) => this.closed(event));
  }

  greet() {
    this.request("hello", this.helloFields()).then(
      (result) => {
        this.waitMs = FIRST_WAIT_MS;
        this.emit("hello", result);
      },
      () => {}, // refused (the page hears it as "error") or the socket dropped again
    );
  }

  // Tries again after a wait that doubles each time, up to maxWaitMs, until a hello succeeds.
  reconnectLater() {
    if (this.stopped) return;
    setTimeout(() => this.connect(), this.waitMs);
    this.waitMs = Math.min(this.waitMs * 2, this.maxWaitMs);
  }

  // Closes this connection; the page hears "close" as for any drop, and decides.
  disconnect() {
    try { if (this.ws) this.ws.close(); } catch { /* already closed */ }
  }

  // Closes for good and silently: no "close" to the page, nothing settled, no reconnecting.
  // For quick exit, when the page is already blank.
  close() {
    this.stopped = true;
    try { if (this.ws) this.ws.close(); } catch { /* closing anyway */ }
  }

  offline() {
    return Object.assign(new Error(this.offlineMessage), { code: "offline" });
  }

  closed(event) {
    if (this.stopped) return;
    for (const { reject } of this.pending.values()) reject(this.offline());
    this.pending.clear();
    this.emit("close", event);
  }

  // Sent only while connected; otherwise dropped (the server's state is read again on hello).
  send(message) {
    if (this.open) this.ws.send(JSON.stringify(message));
  }

  // A request made while the socket is down fails at once with the code `offline`.
  request(type, fields = {}) {
    const id = `${this.idPrefix}${this.nextId++}`;
    return new Promise((resolve, reject) => {
      if (!this.open) { reject(this.offline()); return; }
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ type, id, ...fields }));
    });
  }

  receive(message) {
    if (message.type === "reply") {
      if (!message.ok) this.emit("error", message.error);
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      // The reply to our own message may carry its entry, in order, in place of a separate frame.
      if (message.ok && message.result && message.result.entry) this.receive(message.result.entry);
      if (message.ok) waiting.resolve(message.result);
      else waiting.reject(Object.assign(new Error(message.error.message), { code: message.error.code }));
      return;
    }
    if (message.type === "entry") {
      if (!this.follows(message)) return;
      const last = this.lastSeq.get(message.conversation_id) || 0;
      if (message.seq <= last) return; // already shown
      if (message.seq > last + 1) {
        // A gap: ask for everything after what we have; the replay comes in order.
        this.request("sync", this.syncFields(message.conversation_id, last)).catch(() => {});
        return;
      }
      this.lastSeq.set(message.conversation_id, message.seq);
    }
    this.emit(message.type, message);
  }
}
