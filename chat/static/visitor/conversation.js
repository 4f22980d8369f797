// The chat itself: the transcript (events worded in the visitor's language, each message in its
// own direction), read receipts, the advisor typing, the language suggestion, the composer
// (a message is kept until the server has it and resent with the same id after a reconnect),
// clearing the screen and ending the chat.
import { request, socket } from "./connection.js";
import { finish } from "./ended.js";
import { withNumbersIsolated } from "./rtl.js";
import { $, CONFIG, T, focusCurrent, plain, say, state } from "./state.js";

socket.on("entry", (entry) => {
  // After the end the socket stays open only for the feedback question: nothing more is shown.
  if (!state.ended) showEntry(entry);
});
socket.on("entry.amended", (amended) => {
  // A return phrase the advisor has used: taken off the screen too, not only out of the log.
  const item = document.querySelector(`#transcript li.mine[data-seq="${Number(amended.seq)}"]`);
  if (!item) return;
  const text = item.querySelector(".text");
  text.replaceChildren();
  withNumbersIsolated(text, amended.text);
});
socket.on("receipt", (receipt) => {
  if (receipt.by !== "staff") return;
  for (const item of document.querySelectorAll("#transcript li.mine")) {
    if (Number(item.dataset.seq) <= receipt.seq) item.querySelector(".state").textContent = T.read;
  }
});
socket.on("typing", (typing) => {
  $("typing").hidden = !typing.active;
  clearTimeout(state.typingTimer);
  if (typing.active) state.typingTimer = setTimeout(() => { $("typing").hidden = true; }, 8000);
});

// Events are worded here, in the visitor's language; the log keeps the staff's wording.
function eventText(entry) {
  const pub = entry.data || {}; // the visitor receives only the public part of the data
  switch (entry.event) {
    case "queued": return T.queued;
    case "assigned": return say(T.assigned, { name: pub.advisor_name || entry.sender_name });
    case "transferred": return pub.advisor_name ? say(T.transferred, { name: pub.advisor_name }) : entry.text;
    case "requeued": return T.requeued;
    case "supervisor_joined": return say(T.supervisor_joined, { name: pub.name });
    case "supervisor_left": return T.supervisor_left;
    case "closed": return T.closed;
    default: return entry.text;
  }
}

function showEntry(entry) {
  if (entry.event === "triage_started") return; // the form is the triage
  if (entry.event === "language_suggested") { suggestLanguage((entry.data || {}).language); return; }
  const mine = entry.sender_kind === "visitor";
  const isEvent = entry.kind === "event";
  const who = mine ? T.you : isEvent ? "" : entry.sender_name || T.advisor;
  const item = document.createElement("li");
  item.className = `entry ${mine ? "mine" : isEvent ? "event" : "theirs"}`;
  if (who) {
    const name = document.createElement("span");
    name.className = "who";
    name.textContent = who;
    item.append(name);
  }
  const text = document.createElement("span");
  text.className = "text";
  // Its own direction, isolated: a direction character inside a message reorders nothing after it.
  text.dir = "auto";
  withNumbersIsolated(text, isEvent ? eventText(entry) : entry.text);
  item.append(text);
  if (mine) {
    item.dataset.seq = entry.seq;
    const delivery = document.createElement("span");
    delivery.className = "state";
    delivery.textContent = T.sent;
    item.append(delivery);
  }
  $("transcript").append(item);
  // Scroll the list only, not the page: what is above it (a queue notice) stays in view.
  $("transcript").scrollTop = $("transcript").scrollHeight;
  if (!mine && !isEvent) {
    $("typing").hidden = true;
    socket.send({ type: "receipt", seq: entry.seq, status: "read" });
  }
  if (entry.event === "closed") finish();
}

function suggestLanguage(code) {
  const option = document.querySelector(`#ui-language option[value="${CSS.escape(code || "")}"]`);
  if (!option || code === CONFIG.language) return;
  const button = $("switch-language");
  button.textContent = say(T.suggest_language, { language: option.textContent });
  button.lang = code;
  button.onclick = () => {
    request("language.set", { language: code }).catch(() => {});
    $("suggest-language").hidden = true;
  };
  $("suggest-language").hidden = false;
}

function clientMsgId() {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return `m-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export async function sendMessage(text, id = clientMsgId()) {
  state.unsent.set(id, text);
  try {
    await request("message.send", { client_msg_id: id, text });
    state.unsent.delete(id);
  } catch (error) {
    if (error.code === "offline") return; // resent, with the same id, once reconnected
    state.unsent.delete(id);
    $("send-error").textContent = plain(error, T.error_not_sent);
    $("send-error").hidden = false;
  }
}

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("message").value.trim();
  if (!text) return;
  $("send-error").hidden = true;
  $("message").value = "";
  sendMessage(text);
});
$("message").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});
let lastTyping = 0;
$("message").addEventListener("input", () => {
  if (Date.now() - lastTyping > 3000 && socket.open && state.conversationId) {
    lastTyping = Date.now();
    socket.send({ type: "typing", active: true });
  }
});
function clearScreen() {
  $("transcript").replaceChildren();
  $("typing").hidden = true;
  $("suggest-language").hidden = true;
}
$("clear-screen").addEventListener("click", () => {
  clearScreen();
  (state.ended ? $("ended-heading") : $("message")).focus();
});
$("end-chat").addEventListener("click", () => {
  $("end-confirm").hidden = false;
  $("end-yes").focus();
});
$("end-no").addEventListener("click", () => {
  $("end-confirm").hidden = true;
  $("end-chat").focus();
});
$("end-yes").addEventListener("click", async () => {
  $("end-confirm").hidden = true;
  try { await request("conversation.end"); } catch { /* closed already */ }
  finish();
  // Ended by the visitor: nothing of the conversation stays on the screen.
  clearScreen();
  $("chat").hidden = true;
  focusCurrent();
});
