// The protocol socket (protocol v1, docs/protocol.md) that the visitor's chat and the staff
// consoles both speak through. For the page that holds one it guarantees:
// - every request settles once: with its reply (matched by id), or rejected with the code
//   "offline" when the socket is not open or closes first, or "timeout" when no reply comes;
// - entries reach the page in order, each once, per conversation: one at or below the last seq
//   seen is dropped, a gap asks for everything after that seq (`sync`), and the hello of each
//   reconnect says how far every conversation got, so the server replays the rest;
// - a dropped socket comes back with a doubling wait, unless its close code means stop (the
//   page gets "stopped") or the page says not to (`reconnect`).
// What differs between the visitor and the console (path, hello, sync, ping, close codes) is an
// option. It sits in `agents`, the lowest app whose pages load it, under the visitor's static
// path because the visitor's page loads it too, and no file of that page may stay in the
// browser's cache.
//
// Events, by name: every server message by its `type` (replies excepted: they settle requests),
// and "connected" (the hello's result), "disconnected" ({ code, reconnecting }), "stopped"
// (the close code), "refused" (the error of any refused request, answered or not).

const FIRST_BACKOFF_MS = 500;
const LOST = { offline: "connection lost", timeout: "no reply in time" };

function failure(code, message = LOST[code]) {
  return Object.assign(new Error(message), { code });
}

// The request failed on the way, not at the server: the same request may be tried again.
export function connectionLost(error) {
  return Boolean(error) && Object.hasOwn(LOST, error.code);
}

export class ProtocolSocket {
  constructor({
    path,
    idPrefix = "r",
    hello = () => ({}),
    sync = (conversationId, lastSeq) => ({ conversation_id: conversationId, last_seq: lastSeq }),
    ping = null, // { everyMs, fields: () => ({...}) }
    stopCodes = [],
    reconnect = () => true,
    maxBackoffMs = 8000,
    replyTimeoutMs = 30000,
  }) {
    this.options = { path, idPrefix, hello, sync, ping, reconnect, maxBackoffMs, replyTimeoutMs };
    this.stopCodes = new Set(stopCodes);
    this.handlers = new Map();
    this.pending = new Map(); // request id -> { resolve, reject, timer }
    this.lastSeq = new Map(); // conversation id -> last seq passed to the page
    this.nextId = 1;
    this.backoff = FIRST_BACKOFF_MS;
    this.ready = false; // the hello was answered on the open socket
    this.ws = null;
    this.closedForGood = false;
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

  lastSeqOf(conversationId) {
    return this.lastSeq.get(conversationId) || 0;
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${this.options.path}`);
    this.ws = ws;
    ws.addEventListener("open", () => this.hello());
    ws.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    ws.addEventListener("close", (event) => this.closed(event.code));
  }

  // Closed by the page for good: nothing reconnects, nothing more is emitted, and requests still
  // waiting are dropped unanswered (the page has moved on; quick exit has blanked it).
  close() {
    this.closedForGood = true;
    this.ready = false;
    clearInterval(this.pinger);
    for (const { timer } of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    try { if (this.ws) this.ws.close(); } catch { /* closing anyway */ }
  }

  async hello() {
    let result;
    try {
      result = await this.request("hello", this.options.hello(this));
    } catch {
      return; // refused ("refused" has told the page) or the socket dropped meanwhile
    }
    this.backoff = FIRST_BACKOFF_MS;
    this.ready = true;
    this.emit("connected", result);
    clearInterval(this.pinger);
    const { ping } = this.options;
    if (ping) this.pinger = setInterval(() => this.send({ type: "ping", ...ping.fields() }), ping.everyMs);
  }

  closed(code) {
    if (this.closedForGood) return;
    this.ready = false;
    clearInterval(this.pinger);
    this.rejectPending();
    if (this.stopCodes.has(code)) {
      this.emit("stopped", code);
      return;
    }
    const reconnecting = this.options.reconnect(code);
    this.emit("disconnected", { code, reconnecting });
    if (!reconnecting) return;
    setTimeout(() => { if (!this.closedForGood) this.connect(); }, this.backoff);
    this.backoff = Math.min(this.backoff * 2, this.options.maxBackoffMs);
  }

  rejectPending() {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const { reject, timer } of waiting) {
      clearTimeout(timer);
      reject(failure("offline"));
    }
  }

  // Frames without a reply (typing, receipts, pings, quick exit): sent if the socket is open.
  send(message) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  request(type, fields = {}) {
    const id = `${this.options.idPrefix}${this.nextId++}`;
    return new Promise((resolve, reject) => {
      if (!this.open) {
        reject(failure("offline"));
        return;
      }
      const timer = setTimeout(() => {
        if (!this.pending.delete(id)) return;
        reject(failure("timeout"));
      }, this.options.replyTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.send({ type, id, ...fields });
    });
  }

  receive(message) {
    if (this.closedForGood) return;
    if (message.type === "reply") {
      this.settle(message);
      return;
    }
    if (message.type === "entry") {
      const last = this.lastSeqOf(message.conversation_id);
      if (message.seq <= last) return; // passed on already
      if (message.seq > last + 1) {
        // A gap: ask for everything after what we have; the replay comes in order.
        this.request("sync", this.options.sync(message.conversation_id, last)).catch(() => {});
        return;
      }
      this.lastSeq.set(message.conversation_id, message.seq);
    }
    if (message.type === "conversation.left") this.lastSeq.delete(message.conversation_id);
    this.emit(message.type, message);
  }

  settle(reply) {
    if (!reply.ok) this.emit("refused", reply.error);
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    clearTimeout(waiting.timer);
    // The reply to our own message may carry its entry, in order, in place of a separate frame.
    if (reply.ok && reply.result && reply.result.entry) this.receive(reply.result.entry);
    if (reply.ok) waiting.resolve(reply.result);
    else waiting.reject(failure(reply.error.code, reply.error.message));
  }
}
