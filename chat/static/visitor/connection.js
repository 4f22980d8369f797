// The visitor's socket (protocol v1, ../protocol/socket.js) and the one promise the screens
// wait on before their first request: the server's answer to `hello` on this connection.
import { ProtocolSocket } from "../protocol/socket.js";
import { CONFIG, T, state } from "./state.js";

export const socket = new ProtocolSocket({
  path: "/ws/visitor/",
  idPrefix: "v",
  offlineMessage: T.offline,
  maxWaitMs: 8000,
  hello: () => {
    const fields = { language: CONFIG.language };
    if (state.token) Object.assign(fields, { token: state.token, last_seq: socket.lastSeq.get(state.conversationId) || 0 });
    return fields;
  },
  // The visitor's socket has one conversation: its sync names none.
  syncFields: (_conversationId, last) => ({ last_seq: last }),
  // After the end the socket stays open only for the feedback question: nothing more is shown.
  follows: () => !state.ended,
});

export const request = (type, fields) => socket.request(type, fields);

let greeting;
let greet;
export function resetGreeting() { greeting = new Promise((resolve) => { greet = resolve; }); }
resetGreeting();

// The hello (null once this visitor was refused: the directory needs no hello, the socket stays
// open for it).
export const greeted = () => greeting;
export const greetedWith = (hello) => greet(hello);
