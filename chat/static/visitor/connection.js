// The visitor's socket: the shared protocol socket (protocol.js, kept in agents/static/visitor/
// and served beside this file) with the visitor's hello, sync and reconnection, and the banner
// while it is away.
import { ProtocolSocket } from "./protocol.js";
import { $, CONFIG, setToken, state } from "./state.js";

// The visitor's hello resumes with the token and the last seq of the chat (visitor numbering);
// after the end the socket stays only for the feedback question and does not come back.
export const socket = new ProtocolSocket({
  path: "/ws/visitor/",
  idPrefix: "v",
  hello: (self) => {
    const fields = { language: CONFIG.language };
    if (state.token) Object.assign(fields, { token: state.token, last_seq: self.lastSeqOf(state.conversationId) });
    return fields;
  },
  sync: (_conversationId, lastSeq) => ({ last_seq: lastSeq }),
  reconnect: () => !state.ended,
  maxBackoffMs: 8000,
});
export const request = (type, fields = {}) => socket.request(type, fields);

// Settled by the hello's answer (null when the socket may be used without one): what needs a
// hello waits for `greeted`. Both are live bindings, renewed at each disconnection.
export let greeted;
export let greetedResolve;
function resetGreeting() { greeted = new Promise((resolve) => { greetedResolve = resolve; }); }
resetGreeting();

socket.on("disconnected", ({ code, reconnecting }) => {
  resetGreeting();
  if (code === 4001 || code === 4002) { setToken(null); } // a wrong or expired token: start afresh
  if (reconnecting) $("connection").hidden = false;
});
