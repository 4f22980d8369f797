// The staff websocket (protocol v1): requests with replies, events, per-conversation sequence
// tracking with replay on reconnect, presence pings, and sign-out handling.

const PING_MS = 25000;
const SIGNED_OUT = new Set([4003, 4010]);

export class ConsoleSocket {
  constructor() {
    this.handlers = new Map();
    this.pending = new Map();
    this.lastSeq = new Map(); // conversation id -> last seq shown
    this.nextId = 1;
    this.backoff = 500;
    this.active = false;
    this.ready = false;
    for (const type of ["keydown", "pointerdown", "wheel"]) {
      window.addEventListener(type, () => { this.active = true; }, { passive: true });
    }
  }

  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, []);
    this.handlers.get(type).push(handler);
  }

  emit(type, message) {
    for (const handler of this.handlers.get(type) || []) handler(message);
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/console/`);
    this.ws = ws;
    ws.addEventListener("open", () => this.hello());
    ws.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    ws.addEventListener("close", (event) => this.closed(event));
  }

  async hello() {
    const lastSeq = Object.fromEntries(this.lastSeq);
    const result = await this.request("hello", { last_seq: lastSeq });
    this.backoff = 500;
    this.ready = true;
    this.emit("connected", result);
    clearInterval(this.pinger);
    this.pinger = setInterval(() => {
      this.send({ type: "ping", active: this.active });
      this.active = false;
    }, PING_MS);
  }

  closed(event) {
    this.ready = false;
    clearInterval(this.pinger);
    for (const { reject } of this.pending.values()) reject(new Error("connection lost"));
    this.pending.clear();
    if (SIGNED_OUT.has(event.code)) {
      this.emit("signed-out", event.code);
      location.assign("/accounts/login/?signed_out=1");
      return;
    }
    this.emit("disconnected", event.code);
    setTimeout(() => this.connect(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, 10000);
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  request(type, fields = {}) {
    const id = `c${this.nextId++}`;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ type, id, ...fields });
    });
  }

  receive(message) {
    if (message.type === "reply") {
      const waiting = this.pending.get(message.id);
      if (!waiting) {
        if (!message.ok) this.emit("error", message.error);
        return;
      }
      this.pending.delete(message.id);
      // The reply to our own message may carry its entry, in order, in place of a separate frame.
      if (message.ok && message.result && message.result.entry) this.receive(message.result.entry);
      if (message.ok) waiting.resolve(message.result);
      else waiting.reject(Object.assign(new Error(message.error.message), { code: message.error.code }));
      return;
    }
    if (message.type === "entry") {
      const last = this.lastSeq.get(message.conversation_id) || 0;
      if (message.seq <= last) return; // already shown
      if (message.seq > last + 1) {
        // A gap: ask for everything after what we have; the replay comes in order.
        this.request("sync", { conversation_id: message.conversation_id, last_seq: last }).catch(() => {});
        return;
      }
      this.lastSeq.set(message.conversation_id, message.seq);
    }
    if (message.type === "conversation.left") this.lastSeq.delete(message.conversation_id);
    this.emit(message.type, message);
  }
}
