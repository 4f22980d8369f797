// Waiting for an advisor: the place in the queue and the estimated wait, kept up to date. While
// nobody who could answer is on shift, it says so, gives the lines open now, and lets the
// visitor choose to wait or leave.
import { request } from "./connection.js";
import { loadDirectory } from "./directory.js";
import { finish } from "./ended.js";
import { $, show } from "./screens.js";
import { T, say, state } from "./state.js";

export function showQueued(status) {
  if (state.screen !== "waiting") show("waiting");
  $("chat").hidden = false;
  let text = say(T.queue_position, { position: status.position });
  if (status.estimated_wait_seconds != null) {
    text += ` ${say(T.queue_wait, { minutes: Math.max(1, Math.round(status.estimated_wait_seconds / 60)) })}`;
  } else {
    text += ` ${T.no_estimate}`;
  }
  showNobody(status.staffed === false);
  if (status.staffed && state.nobody) text = `${T.staffed_again} ${text}`;
  state.nobody = status.staffed === false;
  $("position").textContent = text;
}

function showNobody(nobody) {
  const box = $("nobody");
  if (!nobody) { box.hidden = true; return; }
  if (!box.hidden) return;
  box.hidden = false;
  $("nobody-heading").tabIndex = -1;
  $("nobody-heading").focus();
  loadDirectory(null);
}

$("keep-waiting").addEventListener("click", () => {
  $("nobody-choices").hidden = true;
  $("waiting-chosen").hidden = false;
  $("waiting-chosen").focus();
});
$("stop-waiting").addEventListener("click", async () => {
  $("position").textContent = T.leaving_queue;
  try { await request("conversation.end"); } catch { /* closed already */ }
  finish();
});
