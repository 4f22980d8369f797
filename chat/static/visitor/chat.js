// The visitor's chat, as a page of its own or inside the frame that widget.js opens.
// Keeps nothing on the device: the session token lives in this page's memory (sessionStorage
// only if the deployment opts in), and quick exit throws everything away.
import { closeOpened, openElsewhere, shiftRule, showCount } from "./quickexit.js";
import { withNumbersIsolated } from "./rtl.js";
import { askFeedback } from "./feedback.js";
import { ProtocolSocket } from "./protocol.js";

const $ = (id) => document.getElementById(id);
const CONFIG = JSON.parse($("widget-config").textContent);
const T = CONFIG.strings;
const TOKEN_KEY = "chat-resume";
const PARENT_ORIGIN_MESSAGE = "helpline-chat";

function say(template, values = {}) {
  return template.replace(/%\((\w+)\)s/g, (_, name) => String(values[name] ?? ""));
}

// The socket's error messages are for developers: a visitor reads a plain sentence for the code.
const PLAIN_ERRORS = {
  offline: T.offline,
  text_too_long: T.error_text_too_long,
  rate_limited: T.error_rate_limited,
  conversation_closed: T.error_chat_ended,
  no_conversation: T.error_chat_ended,
  invalid: T.error_not_sent,
  duplicate_client_id: T.error_not_sent,
  unknown_language: T.error_language,
  unknown_region: T.error_directory,
};
function plain(error, fallback = T.try_again) {
  return PLAIN_ERRORS[error && error.code] || fallback;
}

const state = {
  token: CONFIG.keepToken ? sessionStorage.getItem(TOKEN_KEY) : null,
  conversationId: null,
  unsent: new Map(), // client_msg_id -> text, resent after a reconnect
  ended: false,
  flow: null,
  answers: null,
  hours: null,
  nobody: false, // queued while nobody who could answer is on shift
};

function setToken(token) {
  state.token = token;
  if (!CONFIG.keepToken) return;
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// --- Quick exit ------------------------------------------------------------------------------

function toParent(type) {
  if (CONFIG.embedded && window.parent !== window) window.parent.postMessage({ source: PARENT_ORIGIN_MESSAGE, type }, "*");
}

let leaving = false;
function quickExit({ fromHost = false } = {}) {
  if (leaving) return;
  leaving = true;
  closeOpened(); // the tabs we opened (maps, services' sites) go first
  document.body.replaceChildren();
  document.title = "";
  try {
    socket.send({ type: "quick_exit" });
    // Also by HTTP, which gets through while the socket is reconnecting; either one is enough.
    if (state.token) {
      navigator.sendBeacon("/chat/quick-exit/", new Blob([JSON.stringify({ token: state.token })], { type: "application/json" }));
    }
  } catch {
    // Leaving matters more than telling the server; the grace period ends the chat anyway.
  }
  state.unsent.clear();
  setToken(null);
  try { sessionStorage.clear(); } catch { /* nothing stored */ }
  socket.close();
  if (fromHost) { toParent("exited"); return; }
  if (CONFIG.embedded && window.parent !== window) {
    // The host page's script blanks the page and navigates it; this is the fallback if it can't.
    toParent("quick-exit");
    try { window.top.location.replace(CONFIG.exitUrl); } catch { /* the host does it */ }
  } else {
    window.location.replace(CONFIG.exitUrl);
  }
}
$("quick-exit").addEventListener("click", () => quickExit());
shiftRule({ onCount: (remaining) => showCount($("exit-count"), T, remaining), onExit: () => quickExit() });
window.addEventListener("message", (event) => {
  if (event.source !== window.parent || !event.data || event.data.source !== PARENT_ORIGIN_MESSAGE) return;
  if (event.data.type === "quick-exit") quickExit({ fromHost: true });
  if (event.data.type === "opened") focusCurrent();
});
if ($("minimise")) $("minimise").addEventListener("click", () => toParent("minimise"));
document.addEventListener("keydown", (event) => {
  // Escape minimises the widget, unless something open on the page (a dialog, a list) takes it.
  if (event.key !== "Escape" || event.defaultPrevented || !CONFIG.embedded) return;
  if (document.querySelector("dialog[open]")) return;
  toParent("minimise");
});

// --- Screens ---------------------------------------------------------------------------------

const SCREENS = ["notice", "safety", "triage", "options", "waiting", "chat", "ended", "closed", "refused"];
let current = "notice";

function focusCurrent() {
  const heading = $(current).querySelector("h1");
  if (heading && current !== "chat") { heading.tabIndex = -1; heading.focus(); }
  else if (current === "chat") $("message").focus();
}

function show(id) {
  current = id;
  for (const section of SCREENS) {
    $(section).hidden = section !== id && !(id === "waiting" && section === "chat");
  }
  focusCurrent();
}

// --- Socket ----------------------------------------------------------------------------------

// The visitor's hello resumes with the token and the last seq of the chat (visitor numbering);
// after the end the socket stays only for the feedback question and does not come back.
const socket = new ProtocolSocket({
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
const request = (type, fields = {}) => socket.request(type, fields);

let greeted;
let greetedResolve;
function resetGreeting() { greeted = new Promise((resolve) => { greetedResolve = resolve; }); }
resetGreeting();

socket.on("disconnected", ({ code, reconnecting }) => {
  resetGreeting();
  if (code === 4001 || code === 4002) { setToken(null); } // a wrong or expired token: start afresh
  if (reconnecting) $("connection").hidden = false;
});

// A hello refused gets no "connected" (`unavailable` is shown from the refusal).
socket.on("connected", (hello) => {
  $("connection").hidden = true;
  if (hello.token) setToken(hello.token);
  state.hours = hello.service.hours;
  greetedResolve(hello);
  if (hello.conversation_id) {
    state.conversationId = hello.conversation_id;
    if (hello.status) applyStatus(hello.status);
    for (const [clientMsgId, text] of state.unsent) sendMessage(text, clientMsgId);
  } else if (state.conversationId) {
    finish(); // the conversation ended while we were away
  } else if (hello.service.paused) {
    refuse(hello.service.message);
  } else if (!hello.service.hours.open) {
    showClosed();
  }
});

socket.on("refused", (error) => { if (error.code === "unavailable") unavailable(); });
socket.on("entry", (entry) => {
  // After the end the socket stays open only for the feedback question: nothing more is shown.
  if (!state.ended) showEntry(entry);
});
socket.on("status", (status) => applyStatus(status));
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

function applyStatus(status) {
  if (status.state === "queued") {
    if (current !== "waiting") show("waiting");
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
    if (current !== "chat") show("chat");
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

function finish() {
  if (state.ended) return;
  state.ended = true;
  setToken(null);
  state.unsent.clear();
  show("ended");
  $("chat").hidden = false;
  $("composer").hidden = true;
  // The socket stays open for the optional feedback question, then closes.
  askFeedback(request, () => socket.close());
}

// Staff blocked this visitor (or their connection): said neutrally, with the other ways to get help.
function unavailable() {
  if (current === "refused" && state.ended) return;
  state.ended = true;
  setToken(null);
  state.unsent.clear();
  $("transcript").replaceChildren();
  $("connection").hidden = true;
  greetedResolve(null); // the directory needs no hello: the socket stays open for it
  refuse(T.unavailable);
}

function refuse(message) {
  $("refused-message").textContent = message;
  show("refused");
  loadDirectory(null);
}

function showClosed() {
  const hours = state.hours;
  const table = $("hours-table");
  table.replaceChildren();
  for (const day of hours.week) {
    const row = document.createElement("tr");
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = day.name;
    const times = document.createElement("td");
    times.textContent = day.hours.join(", ");
    row.append(name, times);
    table.append(row);
  }
  if (hours.next_open) {
    const when = new Intl.DateTimeFormat(CONFIG.language, {
      weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
      timeZone: hours.time_zone,
    }).format(new Date(hours.next_open));
    $("next-open").textContent = say(T.next_open, { when });
  }
  show("closed");
  loadDirectory(null);
}

// --- Triage: the questions come from the server ----------------------------------------------

async function startTriage() {
  await greeted;
  if (!state.flow) {
    try {
      state.flow = await request("triage.flow", { language: CONFIG.language });
    } catch {
      $("triage-error").textContent = T.try_again;
      $("triage-error").hidden = false;
      show("triage");
      return;
    }
    renderQuestions(state.flow.questions);
  }
  show("triage");
}

function renderQuestions(questions) {
  const container = $("questions");
  container.replaceChildren();
  for (const question of questions) {
    const fieldset = document.createElement("fieldset");
    fieldset.dataset.key = question.key;
    const legend = document.createElement("legend");
    legend.textContent = question.prompt;
    fieldset.append(legend);
    if (question.help_text) {
      const help = document.createElement("p");
      help.className = "hint";
      help.id = `help-${question.key}`;
      help.textContent = question.help_text;
      fieldset.setAttribute("aria-describedby", help.id);
      fieldset.append(help);
    }
    const inputs = document.createElement("div");
    inputs.className = question.options.length > 6 ? "options columns" : "options";
    for (const option of question.options) {
      const label = document.createElement("label");
      const input = document.createElement("input");
      input.type = question.multiple ? "checkbox" : "radio";
      input.name = question.key;
      input.value = option.value;
      if (option.emergency) input.dataset.emergency = "1";
      if (question.role === "language" && option.value === CONFIG.language) input.checked = true;
      label.append(input, ` ${option.label}`);
      if (question.role === "language") label.lang = option.value;
      inputs.append(label);
    }
    fieldset.append(inputs);
    container.append(fieldset);
    // The emergency number shows right under the question that can call for it.
    if (question.options.some((o) => o.emergency)) container.append($("danger-help"));
  }
}

function clearAnswerError() {
  const error = $("triage-error");
  error.hidden = true;
  $("triage-form").querySelector("button[type=submit]").before(error);
  for (const input of document.querySelectorAll("#questions [aria-describedby='triage-error']")) input.removeAttribute("aria-describedby");
  for (const fieldset of document.querySelectorAll("#questions fieldset.invalid")) fieldset.classList.remove("invalid");
}

$("questions").addEventListener("change", () => {
  const danger = document.querySelector("#questions input[data-emergency]:checked");
  $("danger-help").hidden = !danger;
});

function collectAnswers() {
  const answers = {};
  for (const question of state.flow.questions) {
    const chosen = [...document.querySelectorAll(`#questions input[name="${CSS.escape(question.key)}"]:checked`)].map((i) => i.value);
    if (question.multiple) { if (chosen.length) answers[question.key] = chosen; }
    else if (chosen.length) answers[question.key] = chosen[0];
    else if (question.required) return { missing: question };
  }
  return { answers };
}

$("triage-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const { answers, missing } = collectAnswers();
  clearAnswerError();
  if (missing) {
    // Shown inside the question, and read out with the answer that takes the focus.
    const fieldset = document.querySelector(`#questions fieldset[data-key="${CSS.escape(missing.key)}"]`);
    const error = $("triage-error");
    error.textContent = say(T.required, { question: missing.prompt });
    error.hidden = false;
    fieldset.querySelector("legend").after(error);
    fieldset.classList.add("invalid");
    for (const input of fieldset.querySelectorAll("input")) input.setAttribute("aria-describedby", "triage-error");
    fieldset.querySelector("input").focus();
    return;
  }
  state.answers = answers;
  const region = state.flow.questions.find((q) => q.role === "region");
  show("options");
  loadDirectory(region ? answers[region.key] || null : null);
});

$("talk").addEventListener("click", async () => {
  $("start-error").hidden = true;
  try {
    if (!state.conversationId) { // started already when a first try was refused
      const started = await request("conversation.start", { language: state.answers.language || CONFIG.language });
      state.conversationId = started.conversation_id; // its log starts at 1, tracked by its id
    }
    const result = await request("triage.submit", { answers: state.answers });
    applyStatus(result.status);
  } catch (error) {
    if (error.code === "paused") refuse(error.message);
    else if (error.code === "closed") showClosed();
    else if (error.code === "invalid" || error.code === "triage_incomplete") {
      // An answer was refused (or the questions changed meanwhile): back to them, in plain words.
      clearAnswerError();
      show("triage");
      $("triage-error").textContent = T.error_answers;
      $("triage-error").hidden = false;
    } else { $("start-error").textContent = plain(error); $("start-error").hidden = false; }
  }
});
$("back-to-questions").addEventListener("click", () => {
  clearAnswerError();
  show("triage");
});
$("leave-with-info").addEventListener("click", () => {
  // No chat is started; the information stays on screen for as long as they want it, and
  // "Talk to an advisor" stays, should they change their mind.
  $("leave-with-info").hidden = true;
  $("left-note").hidden = false;
  $("left-note").focus();
});

// --- The directory ---------------------------------------------------------------------------

function serviceItem(service) {
  const item = document.createElement("li");
  item.className = "service";
  const name = document.createElement("h3");
  name.textContent = service.name;
  name.dir = "auto";
  item.append(name);
  const details = document.createElement("dl");
  const add = (term, value, href) => {
    if (!value) return;
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    if (href && href.startsWith("tel:")) {
      const link = document.createElement("a");
      link.href = href;
      link.textContent = value;
      // A phone number reads left to right, isolated, inside right-to-left text.
      link.dir = "ltr";
      dd.append(link);
    } else if (href) {
      dd.append(elsewhereButton(value, href));
    } else { withNumbersIsolated(dd, value); dd.dir = "auto"; }
    details.append(dt, dd);
  };
  if (service.description) {
    const about = document.createElement("p");
    withNumbersIsolated(about, service.description);
    about.dir = "auto";
    item.append(about);
  }
  add(T.phone, service.phone, service.phone ? `tel:${service.phone.replace(/[^+\d]/g, "")}` : "");
  add(T.hours, service.open_24h ? T.open_24h : service.hours);
  add(T.address, service.address);
  if (service.map_url) add(T.map, T.map, service.map_url);
  add(T.contact, service.contact_route);
  if (service.website) add(T.website, new URL(service.website).host, service.website);
  if (service.kind === "refuge") add("", T.refuge_note);
  item.append(details);
  return item;
}

let elsewhereCount = 0;
// Another site opens in a tab we track, so that quick exit closes it; the visitor is told so.
function elsewhereButton(label, href) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "link elsewhere";
  button.textContent = label;
  const hint = document.createElement("span");
  hint.className = "hint elsewhere-hint";
  hint.textContent = T.elsewhere;
  hint.id = `elsewhere-${++elsewhereCount}`;
  button.setAttribute("aria-describedby", hint.id);
  const status = document.createElement("span");
  status.setAttribute("role", "status");
  button.addEventListener("click", () => {
    status.textContent = openElsewhere(href) ? "" : say(T.not_opened, { address: href });
  });
  const wrapper = document.createElement("span");
  wrapper.append(button, hint, status);
  return wrapper;
}

function serviceList(heading, services) {
  const block = document.createElement("section");
  const title = document.createElement("h2");
  title.textContent = heading;
  const list = document.createElement("ul");
  list.className = "services";
  for (const service of services) list.append(serviceItem(service));
  block.append(title, list);
  return block;
}

async function loadDirectory(region) {
  let directory;
  try {
    await greeted;
    directory = await request("directory.lookup", region ? { region, language: CONFIG.language } : { language: CONFIG.language });
  } catch (error) {
    for (const container of document.querySelectorAll("[data-directory]")) {
      const failed = document.createElement("p");
      failed.className = "error";
      failed.textContent = T.error_directory;
      container.replaceChildren(failed);
    }
    return;
  }
  for (const container of document.querySelectorAll("[data-directory]")) {
    container.replaceChildren();
    // Out of hours, the lines that answer now come first.
    const allDay = directory.national.filter((service) => service.open_24h);
    if (container.dataset.directory === "first-24h" && allDay.length) container.append(serviceList(T.lines_24h, allDay));
    if (directory.regions.length) {
      const label = document.createElement("label");
      label.textContent = `${T.choose_region} `;
      const select = document.createElement("select");
      select.append(new Option("—", ""));
      for (const r of directory.regions) select.append(new Option(r.name, r.slug, false, r.slug === region));
      select.addEventListener("change", () => loadDirectory(select.value || null));
      label.append(select);
      container.append(label);
    }
    if (directory.region) {
      container.append(serviceList(say(T.local, { region: directory.region.name }), directory.local));
    }
    if (directory.national.length) container.append(serviceList(T.national, directory.national));
    if (!directory.national.length && !directory.local.length) {
      const none = document.createElement("p");
      none.textContent = T.no_services;
      container.append(none);
    }
  }
}

// --- Chat actions ----------------------------------------------------------------------------

$("notice-ok").addEventListener("click", startTriage);
// Our own pages open inside the chat, never in a tab of their own.
$("show-safety").addEventListener("click", () => show("safety"));
$("safety-back").addEventListener("click", () => { show("notice"); $("show-safety").focus(); });
$("ui-language").addEventListener("change", (event) => {
  // Before any chat starts, so nothing is lost: reload the page worded in the chosen language.
  const url = new URL(window.location.href);
  url.searchParams.set("lang", event.target.value);
  window.location.replace(url.toString());
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

show("notice");
socket.connect();
// Every control above now answers. A click before this (on a slow phone, the page drawn before its
// script ran) did nothing; tests wait for this mark before they click.
document.documentElement.dataset.ready = "true";
