// The staff websocket: protocol v1's client (../protocol/socket.js) with what only staff have:
// hello names the last seq of every conversation shown, presence pings say whether the person
// is at the keyboard, and a signed-out close goes to the sign-in page instead of reconnecting.
import { ProtocolSocket } from "../protocol/socket.js";

const PING_MS = 25000;
const SIGNED_OUT = new Set([4003, 4010]);

export class ConsoleSocket extends ProtocolSocket {
  constructor() {
    super({
      path: "/ws/console/",
      idPrefix: "c",
      offlineMessage: "connection lost",
      maxWaitMs: 10000,
      hello: () => ({ last_seq: Object.fromEntries(this.lastSeq) }),
      syncFields: (conversationId, last) => ({ conversation_id: conversationId, last_seq: last }),
    });
    this.active = false;
    this.ready = false;
    for (const type of ["keydown", "pointerdown", "wheel"]) {
      window.addEventListener(type, () => { this.active = true; }, { passive: true });
    }
    this.on("hello", (result) => {
      this.ready = true;
      this.emit("connected", result);
      clearInterval(this.pinger);
      this.pinger = setInterval(() => {
        this.send({ type: "ping", active: this.active });
        this.active = false;
      }, PING_MS);
    });
    this.on("close", (event) => {
      this.ready = false;
      clearInterval(this.pinger);
      if (SIGNED_OUT.has(event.code)) {
        this.emit("signed-out", event.code);
        location.assign("/accounts/login/?signed_out=1");
        return;
      }
      this.emit("disconnected", event.code);
      this.reconnectLater();
    });
    // Registered before any page's handler: nothing more to replay for a conversation left.
    this.on("conversation.left", (message) => this.lastSeq.delete(message.conversation_id));
  }
}
