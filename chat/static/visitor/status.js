// Where the conversation stands, as the server says (on hello, on change, in a reply), decides
// the screen: triage, the queue, the chat or its end.
import { finish } from "./ended.js";
import { show } from "./screens.js";
import { state } from "./state.js";
import { startTriage } from "./triage.js";
import { showQueued } from "./waiting.js";

export function applyStatus(status) {
  if (status.state === "queued") {
    showQueued(status);
  } else if (status.state === "active" || status.state === "waiting_visitor") {
    if (state.screen !== "chat") show("chat");
  } else if (status.state === "triage") {
    startTriage();
  } else if (status.state === "closed") {
    finish();
  }
}
