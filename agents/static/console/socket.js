// The staff socket: the shared protocol socket (../visitor/protocol.js) with what the consoles
// add to it: a hello with the last seq of every conversation followed, presence pings saying
// whether the person used the page (idle sign-out), and a signed-out close sending the page to
// sign-in.
import { ProtocolSocket } from "../visitor/protocol.js";

const PING_MS = 25000;
const SIGNED_OUT = [4003, 4010];

export class ConsoleSocket extends ProtocolSocket {
  constructor() {
    super({
      path: "/ws/console/",
      idPrefix: "c",
      hello: (socket) => ({ last_seq: Object.fromEntries(socket.lastSeq) }),
      ping: { everyMs: PING_MS, fields: () => this.activity() },
      stopCodes: SIGNED_OUT,
      maxBackoffMs: 10000,
    });
    this.active = false;
    for (const type of ["keydown", "pointerdown", "wheel"]) {
      window.addEventListener(type, () => { this.active = true; }, { passive: true });
    }
    this.on("stopped", () => location.assign("/accounts/login/?signed_out=1"));
  }

  activity() {
    const fields = { active: this.active };
    this.active = false;
    return fields;
  }
}
