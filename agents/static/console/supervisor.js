// The supervisor's console: advisors, queues, every live chat; monitor, whisper, join, reassign.
import { blockReview, blockVisitor, blockedNotice } from "./blocks.js";
import { ChatPane, channelLabel } from "./chatpane.js";
import { el, waitLabel } from "./dom.js";
import { ConsoleSocket } from "./socket.js";

const socket = new ConsoleSocket();
const $ = (id) => document.getElementById(id);
const staff = new Map(); // user id -> row data
const queues = new Map();
const live = new Map(); // conversation id -> summary
const panes = new Map();
let selected = null;

const STATUS = { on_shift: "On shift", away: "Away", off_shift: "Off shift" };
const STATE = { queued: "Queued", active: "Active", waiting_visitor: "Visitor away", closed: "Ended" };

function notice(text) {
  const p = el("p", { class: "notice", role: "status", text });
  $("offers").append(p);
  setTimeout(() => p.remove(), 6000);
}

function renderStaff() {
  $("staff-rows").replaceChildren(...[...staff.values()].map((s) => el("tr", {},
    el("th", { scope: "row", text: `${s.name}${s.role === "supervisor" ? " (supervisor)" : ""}` }),
    el("td", { text: STATUS[s.availability] || s.availability }),
    el("td", { text: `${s.load} of ${s.capacity}` }),
    el("td", { text: s.connected ? "Yes" : "No" }))));
}

function renderQueues() {
  $("queue-rows").replaceChildren(...[...queues.values()].map((q) => {
    const oldest = q.entries.reduce((min, e) => (!min || e.queued_at < min ? e.queued_at : min), null);
    return el("tr", {}, el("th", { scope: "row", text: q.name }), el("td", { text: String(q.length) }),
      el("td", { text: oldest ? waitLabel(oldest) : "–" }));
  }));
}

function renderLive() {
  const rows = [...live.values()].filter((c) => c.state !== "closed");
  $("no-live").hidden = rows.length > 0;
  $("live-rows").replaceChildren(...rows.map((c) => {
    const short = c.conversation_id.slice(0, 6);
    const actions = el("div", { class: "row-actions" });
    if (c.state !== "queued") {
      actions.append(
        el("button", { type: "button", text: "Monitor", "aria-label": `Monitor chat ${short}`, onclick: () => supervise("monitor", c.conversation_id) }),
        el("button", { type: "button", text: "Join", "aria-label": `Join chat ${short}`, onclick: () => supervise("join", c.conversation_id) }),
        el("button", { type: "button", text: "Reassign", "aria-label": `Reassign chat ${short}`, onclick: () => reassign(c.conversation_id) }),
      );
    }
    if (c.close_reason !== "blocked") {
      actions.append(el("button", { type: "button", text: "Block", "aria-label": `Block the visitor of chat ${short}`, onclick: () => block(c.conversation_id) }));
    }
    return el("tr", { "data-conversation": c.conversation_id },
      el("th", { scope: "row", text: `${c.priority > 0 ? "In danger · " : ""}${short}` },
        c.channel && c.channel !== "web" ? el("span", { class: "badge channel", text: channelLabel(c.channel) }) : null),
      el("td", { text: STATE[c.state] || c.state }),
      el("td", { text: c.queue || "–" }),
      el("td", { text: c.holder ? c.holder.name : "–" }),
      el("td", { text: waitLabel(c.accepted_at || c.queued_at) }),
      el("td", {}, actions));
  }));
}

function select(id) {
  selected = id;
  for (const [cid, item] of panes) {
    item.pane.root.hidden = cid !== id;
    item.tab.setAttribute("aria-selected", cid === id ? "true" : "false");
    item.tab.tabIndex = cid === id ? 0 : -1;
  }
  $("no-chats").hidden = panes.size > 0;
}

function kindsFor(role) {
  return role === "participant" ? ["text", "whisper", "note"] : ["whisper", "note"];
}

function openPane(summary) {
  const existing = panes.get(summary.conversation_id);
  if (existing) {
    if (existing.pane.summary.role !== summary.role) existing.pane.setupKinds(kindsFor(summary.role));
    existing.pane.update(summary);
    existing.tab.textContent = `${summary.role === "monitor" ? "Monitoring" : "Joined"} · ${summary.conversation_id.slice(0, 6)}`;
    return existing;
  }
  const pane = new ChatPane({ socket, summary, canned: () => [], onAction: paneAction, composerKinds: kindsFor(summary.role), canEnd: true });
  const leave = el("button", { type: "button", text: "Leave", onclick: () => supervise("leave", summary.conversation_id) });
  pane.root.querySelector(".chat-actions").prepend(leave);
  const tab = el("button", { type: "button", role: "tab", id: `tab-${summary.conversation_id}`, "aria-controls": pane.root.id,
    onclick: () => select(summary.conversation_id) });
  pane.root.setAttribute("aria-labelledby", tab.id);
  $("chat-tabs").append(tab);
  $("chat-panes").append(pane.root);
  const item = { pane, tab };
  panes.set(summary.conversation_id, item);
  tab.textContent = `${summary.role === "monitor" ? "Monitoring" : "Joined"} · ${summary.conversation_id.slice(0, 6)}`;
  select(summary.conversation_id);
  return item;
}

function closePane(id) {
  const item = panes.get(id);
  socket.lastSeq.delete(id);
  if (!item) return;
  item.pane.root.remove();
  item.tab.remove();
  panes.delete(id);
  if (selected === id) select(panes.keys().next().value || null);
}

async function supervise(mode, id) {
  try {
    const result = await socket.request(`supervise.${mode}`, { conversation_id: id });
    if (mode === "leave") {
      socket.lastSeq.delete(id);
      closePane(id);
    } else {
      openPane(result.conversation);
    }
  } catch (error) { notice(error.message); }
}

async function paneAction(action, pane) {
  if (action === "end") {
    try { await socket.request("conversation.end", { conversation_id: pane.id, outcome: "other" }); }
    catch (error) { notice(error.message); }
  } else if (action === "dismiss") {
    closePane(pane.id);
  } else if (action === "block") {
    await block(pane.id);
  }
}

const refreshBlocks = blockReview(socket, $("block-rows"), $("no-blocks"), notice);
$("blocks-refresh").addEventListener("click", () => refreshBlocks().catch((error) => notice(error.message)));
socket.on("block", () => refreshBlocks().catch(() => {})); // made or lifted by anyone

async function block(id) {
  const made = await blockVisitor(socket, id);
  if (!made) return;
  notice(blockedNotice(made));
  await refreshBlocks();
}

async function reassign(id) {
  const dialog = $("reassign-dialog");
  const { staff: list } = await socket.request("staff.list");
  const holder = live.get(id)?.holder?.user_id;
  $("reassign-advisor").replaceChildren(...list
    .filter((s) => s.availability === "on_shift" && s.user_id !== holder)
    .map((s) => el("option", { value: s.user_id, text: `${s.name} (${s.load} of ${s.capacity})`, disabled: s.load >= s.capacity })));
  $("reassign-note").value = "";
  dialog.returnValue = "";
  dialog.showModal();
  dialog.addEventListener("close", async () => {
    if (dialog.returnValue !== "confirm") return;
    try {
      await socket.request("conversation.reassign", { conversation_id: id, to_user_id: Number($("reassign-advisor").value), note: $("reassign-note").value });
      notice("Chat reassigned.");
    } catch (error) { notice(`Not reassigned: ${error.message}`); }
  }, { once: true });
}

$("availability").addEventListener("change", async (event) => {
  try { await socket.request("availability.set", { availability: event.target.value }); }
  catch (error) { notice(error.message); }
});

let service = { paused: false, message: "" };
function renderService(status) {
  service = status;
  $("surge-state").textContent = status.paused
    ? `Paused${status.changed_by ? ` by ${status.changed_by}` : ""}. Queued chats carry on.`
    : "Open: visitors can start chats.";
  $("surge-toggle").textContent = status.paused ? "Resume new chats" : "Pause new chats";
  $("surge-toggle").className = status.paused ? "primary" : "danger";
}
$("surge-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    renderService(await socket.request("service.pause", { paused: !service.paused, message: $("surge-message").value }));
  } catch (error) { notice(error.message); }
});
socket.on("service.status", renderService);
socket.on("referral", (r) => {
  const what = r.overdue ? "is overdue for review" : r.state === "submitted" ? "was submitted" : `is now ${r.state}`;
  const box = el("p", { class: "notice", role: "status" }, r.urgent ? "Urgent referral " : "Referral ",
    el("a", { href: `/risk/referrals/${r.referral_id}/`, text: r.reference }), ` ${what}.`);
  $("offers").append(box);
  setTimeout(() => box.remove(), 30000);
});

socket.on("connected", async (result) => {
  renderService(result.service);
  $("connection-banner").hidden = true;
  $("availability").value = result.state.availability;
  $("load").textContent = `${result.state.load} of ${result.state.capacity} chats`;
  for (const s of (await socket.request("staff.list")).staff) staff.set(s.user_id, s);
  renderStaff();
  live.clear();
  for (const c of (await socket.request("conversations.list")).conversations) live.set(c.conversation_id, c);
  renderLive();
  await refreshBlocks();
});
socket.on("disconnected", () => { $("connection-banner").hidden = false; });
socket.on("staff.state", (s) => {
  const row = staff.get(s.user_id);
  if (row) { Object.assign(row, s, { connected: true }); renderStaff(); }
  if (s.user_id === Number(document.getElementById("console").dataset.userId)) {
    $("availability").value = s.availability;
    $("load").textContent = `${s.load} of ${s.capacity} chats`;
  }
});
socket.on("queue", (snapshot) => { queues.set(snapshot.queue, snapshot); renderQueues(); });
socket.on("conversation", (summary) => {
  live.set(summary.conversation_id, summary);
  renderLive();
  if (summary.role === "monitor" || summary.role === "participant") openPane(summary);
  else if (panes.has(summary.conversation_id)) panes.get(summary.conversation_id).pane.update({ ...summary, role: panes.get(summary.conversation_id).pane.summary.role });
});
socket.on("conversation.left", (message) => closePane(message.conversation_id));
socket.on("entry", (entry) => { const item = panes.get(entry.conversation_id); if (item) item.pane.addEntry(entry); });
socket.on("entry.amended", (amended) => panes.get(amended.conversation_id)?.pane.amendEntry(amended));
socket.on("typing", (message) => {
  const item = panes.get(message.conversation_id);
  if (item && message.sender_kind === "visitor") item.pane.showTyping(message.active);
});
setInterval(() => { renderQueues(); renderLive(); }, 30000);
socket.connect();
