// The visitor's chat. Keeps nothing on the device: the session token lives in this page's
// memory only, and quick exit throws everything away.

const app = document.getElementById("app");
const $ = (id) => document.getElementById(id);
const EXIT_URL = app.dataset.exitUrl;

const state = {
  token: null,
  conversationId: null,
  lastSeq: 0,
  pending: new Map(), // request id -> { resolve, reject }
  unsent: new Map(), // client_msg_id -> text, resent after a reconnect
  nextId: 1,
  ws: null,
  backoff: 500,
  ended: false,
};

// --- Quick exit ------------------------------------------------------------------------------

let shifts = [];
function quickExit() {
  try {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify({ type: "quick_exit" }));
    // Also by HTTP, which gets through while the socket is reconnecting; either one is enough.
    if (state.token) {
      navigator.sendBeacon("/chat/quick-exit/", new Blob([JSON.stringify({ token: state.token })], { type: "application/json" }));
    }
  } catch {
    // Leaving matters more than telling the server; the grace period ends the chat anyway.
  }
  document.body.replaceChildren();
  document.title = "";
  state.token = null;
  state.unsent.clear();
  try { sessionStorage.clear(); } catch { /* nothing stored */ }
  const target = window.top === window ? window : window.top;
  try { target.location.replace(EXIT_URL); } catch { window.location.replace(EXIT_URL); }
}
$("quick-exit").addEventListener("click", quickExit);
document.addEventListener("keydown", (event) => {
  if (event.key !== "Shift" || event.repeat) return;
  const now = Date.now();
  shifts = shifts.filter((t) => now - t < 5000);
  shifts.push(now);
  if (shifts.length >= 3) quickExit();
});

// --- Screens ---------------------------------------------------------------------------------

function show(id) {
  for (const section of ["notice", "triage", "waiting", "chat", "ended", "refused"]) {
    $(section).hidden = section !== id && !(id === "waiting" && section === "chat");
  }
  const heading = $(id).querySelector("h1");
  if (heading && id !== "chat") { heading.tabIndex = -1; heading.focus(); }
}

// --- Socket ----------------------------------------------------------------------------------

function request(type, fields = {}) {
  const id = `v${state.nextId++}`;
  return new Promise((resolve, reject) => {
    state.pending.set(id, { resolve, reject });
    state.ws.send(JSON.stringify({ type, id, ...fields }));
  });
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws/visitor/`);
  state.ws = ws;
  ws.addEventListener("open", onOpen);
  ws.addEventListener("message", (event) => receive(JSON.parse(event.data)));
  ws.addEventListener("close", (event) => {
    for (const { reject } of state.pending.values()) reject(Object.assign(new Error("connection lost"), { code: "offline" }));
    state.pending.clear();
    if (state.ended || event.code === 4001 || event.code === 4002) {
      if (event.code === 4001 || event.code === 4002) { state.token = null; setTimeout(connect, 500); }
      return;
    }
    $("connection").hidden = false;
    setTimeout(connect, state.backoff);
    state.backoff = Math.min(state.backoff * 2, 8000);
  });
}

async function onOpen() {
  const hello = await request("hello", state.token ? { token: state.token, last_seq: state.lastSeq } : {});
  $("connection").hidden = true;
  state.backoff = 500;
  if (hello.token) state.token = hello.token;
  if (hello.conversation_id) {
    state.conversationId = hello.conversation_id;
    if (hello.status) applyStatus(hello.status);
    for (const [clientMsgId, text] of state.unsent) sendMessage(text, clientMsgId);
  } else if (state.conversationId) {
    // The conversation ended while we were away.
    finish();
  } else if (hello.service && hello.service.paused) {
    refuse(hello.service.message);
  }
}

function receive(message) {
  if (message.type === "reply") {
    const waiting = state.pending.get(message.id);
    if (!waiting) return;
    state.pending.delete(message.id);
    if (message.ok) waiting.resolve(message.result);
    else waiting.reject(Object.assign(new Error(message.error.message), { code: message.error.code }));
  } else if (message.type === "entry") {
    if (message.seq <= state.lastSeq) return;
    if (message.seq > state.lastSeq + 1) {
      request("sync", { last_seq: state.lastSeq }).catch(() => {});
      return;
    }
    state.lastSeq = message.seq;
    showEntry(message);
  } else if (message.type === "status") {
    applyStatus(message);
  } else if (message.type === "typing") {
    $("typing").hidden = !message.active;
    clearTimeout(state.typingTimer);
    if (message.active) state.typingTimer = setTimeout(() => { $("typing").hidden = true; }, 8000);
  }
}

function applyStatus(status) {
  if (status.state === "queued") {
    show("waiting");
    $("chat").hidden = false;
    if (status.estimated_wait_seconds == null) {
      $("position").textContent = `You are number ${status.position} in the queue.`;
    } else {
      const minutes = Math.max(1, Math.round(status.estimated_wait_seconds / 60));
      $("position").textContent = `You are number ${status.position} in the queue. Estimated wait: about ${minutes} minute${minutes === 1 ? "" : "s"}.`;
    }
  } else if (status.state === "active" || status.state === "waiting_visitor") {
    $("waiting").hidden = true;
    $("chat").hidden = false;
  } else if (status.state === "triage") {
    show("triage");
  } else if (status.state === "closed") {
    finish();
  }
}

function showEntry(entry) {
  if (entry.event === "triage_started") return; // the form is the triage
  const mine = entry.sender_kind === "visitor";
  const who = mine ? "You" : entry.kind === "event" ? "" : entry.sender_name || "Advisor";
  const item = document.createElement("li");
  item.className = `entry ${mine ? "mine" : entry.kind === "event" ? "event" : "theirs"}`;
  if (who) {
    const name = document.createElement("span");
    name.className = "who";
    name.textContent = who;
    item.append(name);
  }
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = entry.text;
  item.append(text);
  $("transcript").append(item);
  item.scrollIntoView({ block: "nearest" });
  if (!mine && entry.kind !== "event") {
    $("typing").hidden = true;
    state.ws.send(JSON.stringify({ type: "receipt", seq: entry.seq, status: "read" }));
  }
  if (entry.event === "closed") finish();
}

function finish() {
  if (state.ended) return;
  state.ended = true;
  state.token = null;
  state.unsent.clear();
  show("ended");
  $("chat").hidden = false;
  $("composer").hidden = true;
  try { state.ws.close(); } catch { /* already closed */ }
}

function refuse(message) {
  $("refused-message").textContent = message;
  show("refused");
}

// --- Actions ---------------------------------------------------------------------------------

$("notice-ok").addEventListener("click", () => show("triage"));

for (const radio of document.querySelectorAll("input[name=in_danger]")) {
  radio.addEventListener("change", () => {
    $("danger-help").hidden = document.querySelector("input[name=in_danger]:checked").value !== "yes";
  });
}

$("triage-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const answers = {
    in_danger: form.get("in_danger"),
    safe_to_talk: form.get("safe_to_talk"),
    about: form.get("about"),
    help: form.getAll("help"),
  };
  $("triage-error").hidden = true;
  try {
    const started = await request("conversation.start");
    state.conversationId = started.conversation_id;
    const result = await request("triage.submit", { answers });
    applyStatus(result.status);
  } catch (error) {
    if (error.code === "paused") refuse(error.message);
    else { $("triage-error").textContent = error.message; $("triage-error").hidden = false; }
  }
});

function clientMsgId() {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return `m-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

async function sendMessage(text, id = clientMsgId()) {
  state.unsent.set(id, text);
  try {
    await request("message.send", { client_msg_id: id, text });
    state.unsent.delete(id);
  } catch (error) {
    if (error.code === "offline") return; // resent, with the same id, once reconnected
    state.unsent.delete(id);
    $("send-error").textContent = error.message;
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
  if (Date.now() - lastTyping > 3000 && state.ws && state.ws.readyState === WebSocket.OPEN && state.conversationId) {
    lastTyping = Date.now();
    state.ws.send(JSON.stringify({ type: "typing", active: true }));
  }
});
$("end-chat").addEventListener("click", async () => {
  try { await request("conversation.end"); } catch { /* closed already */ }
  finish();
});

show("notice");
connect();
