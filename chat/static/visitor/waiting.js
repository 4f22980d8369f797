// Waiting: the queue position and estimated wait, and what to do while nobody who could answer
// is on shift. `applyStatus` shows whichever screen the chat's state calls for.
import { request, socket } from "./connection.js";
import { loadDirectory } from "./directory.js";
import { finish } from "./ended.js";
import { $, T, currentScreen, say, show, state } from "./state.js";
import { startTriage } from "./triage.js";

socket.on("status", (status) => applyStatus(status));

export function applyStatus(status) {
  if (status.state === "queued") {
    if (currentScreen() !== "waiting") show("waiting");
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
  } else if (status.state === "active" || status.state === "waiting_visitor") {
    if (currentScreen() !== "chat") show("chat");
  } else if (status.state === "triage") {
    startTriage();
  } else if (status.state === "closed") {
    finish();
  }
}

// Queued while nobody who could answer is on shift: say so, give the lines open now, and let
// the visitor choose to wait or leave.
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

