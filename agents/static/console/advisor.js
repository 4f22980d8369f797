// The advisor's console: shift status and load, the live queue, several chats at once.
import { blockVisitor, blockedNotice } from "./blocks.js";
import { ChatPane, channelLabel } from "./chatpane.js";
import { beep, el, triageRows, waitLabel } from "./dom.js";
import { prepareRecord, readRecord, saveRecord } from "./record.js";
import { ConsoleSocket } from "./socket.js";

const root = document.getElementById("console");
const socket = new ConsoleSocket();
const panes = new Map(); // conversation id -> { pane, tab, unread }
const queues = new Map(); // slug -> snapshot
let canned = [];
let selected = null;
let state = null;

const $ = (id) => document.getElementById(id);
const announce = (text) => { $("announcer").textContent = text; };
const soundOn = () => $("sound-toggle").checked;

function renderState(s) {
  state = s;
  $("availability").value = s.availability;
  $("load").textContent = `${s.load} of ${s.capacity} chats`;
  $("take-next").disabled = s.availability !== "on_shift" || s.load >= s.capacity;
}

function renderQueues() {
  const entries = [...queues.values()].flatMap((q) => q.entries.map((e) => ({ ...e, queue: q.name })));
  entries.sort((a, b) => b.priority - a.priority || new Date(a.queued_at) - new Date(b.queued_at));
  const total = [...queues.values()].reduce((sum, q) => sum + q.length, 0);
  $("queue-summary").textContent = total === 0 ? "Nobody is waiting." : `${total} waiting`;
  $("queue-list").replaceChildren(...entries.map((entry) => {
    const urgent = entry.triage && entry.triage.in_danger;
    const facts = triageRows(entry.triage).filter(([k]) => ["About", "Language", "Help wanted", "Region"].includes(k));
    return el(
      "li",
      { class: `queue-item${urgent ? " urgent" : ""}` },
      el("div", { class: "queue-line" },
        urgent ? el("strong", { class: "badge danger", text: "In danger" }) : null,
        entry.channel && entry.channel !== "web" ? el("span", { class: "badge channel", text: channelLabel(entry.channel) }) : null,
        el("span", { text: `Waiting ${waitLabel(entry.queued_at)}` }),
        el("span", { class: "muted", text: entry.queue })),
      el("p", { class: "facts", text: facts.map(([k, v]) => `${k}: ${v}`).join(" · ") }),
      el("button", { type: "button", onclick: () => accept(entry.conversation_id), text: "Pick this chat",
        "aria-label": `Pick chat waiting ${waitLabel(entry.queued_at)}` }),
    );
  }));
}

function select(id) {
  selected = id;
  for (const [cid, item] of panes) {
    const on = cid === id;
    item.pane.root.hidden = !on;
    item.tab.setAttribute("aria-selected", on ? "true" : "false");
    item.tab.tabIndex = on ? 0 : -1;
    if (on) { item.unread = 0; renderTab(cid); }
  }
  $("no-chats").hidden = panes.size > 0;
}

function renderTab(id) {
  const item = panes.get(id);
  const s = item.pane.summary;
  const label = `${s.title || `Visitor ${id.slice(0, 6)}`}${s.state === "closed" ? " (ended)" : ""}`;
  item.tab.replaceChildren(el("span", { text: label }));
  if (item.unread) item.tab.append(el("span", { class: "badge", text: String(item.unread), "aria-label": `${item.unread} unread` }));
}

function openPane(summary) {
  if (panes.has(summary.conversation_id)) {
    panes.get(summary.conversation_id).pane.update(summary);
    renderTab(summary.conversation_id);
    return panes.get(summary.conversation_id);
  }
  const pane = new ChatPane({ socket, summary, canned: () => canned, onAction: paneAction });
  const tab = el("button", { type: "button", role: "tab", id: `tab-${summary.conversation_id}`,
    "aria-controls": pane.root.id, onclick: () => select(summary.conversation_id) });
  tab.addEventListener("keydown", (event) => {
    if (!["ArrowLeft", "ArrowRight"].includes(event.key)) return;
    const ids = [...panes.keys()];
    const next = ids[(ids.indexOf(summary.conversation_id) + (event.key === "ArrowRight" ? 1 : ids.length - 1)) % ids.length];
    select(next);
    panes.get(next).tab.focus();
  });
  pane.root.setAttribute("aria-labelledby", tab.id);
  $("chat-tabs").append(tab);
  $("chat-panes").append(pane.root);
  const item = { pane, tab, unread: 0 };
  panes.set(summary.conversation_id, item);
  renderTab(summary.conversation_id);
  if (!selected || !panes.has(selected)) select(summary.conversation_id);
  else pane.root.hidden = true;
  $("no-chats").hidden = true;
  return item;
}

function closePane(id) {
  const item = panes.get(id);
  socket.lastSeq.delete(id); // nothing more to replay for it after a reconnect
  if (!item) return;
  item.pane.root.remove();
  item.tab.remove();
  panes.delete(id);
  if (selected === id) select(panes.keys().next().value || null);
}

async function accept(id) {
  try {
    const result = await socket.request("conversation.accept", { conversation_id: id });
    select(openPane(result.conversation).pane.id);
  } catch (error) {
    announce(error.code === "already_taken" ? "Another advisor took that chat." : error.message);
    showNotice(error.code === "already_taken" ? "Another advisor took that chat first." : error.message);
  }
}

function showNotice(text) {
  const notice = el("p", { class: "notice", role: "status", text });
  $("offers").append(notice);
  setTimeout(() => notice.remove(), 6000);
}

async function paneAction(action, pane) {
  if (action === "end") {
    const dialog = $("end-dialog");
    dialog.returnValue = "";
    await prepareRecord(dialog);
    dialog.showModal();
    dialog.addEventListener("close", async () => {
      if (dialog.returnValue !== "confirm") return;
      const record = readRecord();
      try {
        await socket.request("conversation.end", { conversation_id: pane.id, outcome: $("end-outcome").value });
      } catch (error) { showNotice(error.message); return; }
      await saveRecord(pane.id, record, $("offers"));
    }, { once: true });
  } else if (action === "requeue") {
    try {
      await socket.request("conversation.requeue", { conversation_id: pane.id, note: "" });
    } catch (error) { showNotice(error.message); }
  } else if (action === "transfer") {
    openTransfer(pane);
  } else if (action === "block") {
    const block = await blockVisitor(socket, pane.id);
    if (block) { showNotice(blockedNotice(block)); announce("Visitor blocked."); }
  } else if (action === "dismiss") {
    closePane(pane.id);
  }
}

async function openTransfer(pane) {
  const dialog = $("transfer-dialog");
  const { staff } = await socket.request("staff.list");
  const others = staff.filter((s) => s.user_id !== Number(root.dataset.userId) && s.availability === "on_shift" && s.connected);
  $("transfer-advisor").replaceChildren(...others.map((s) =>
    el("option", { value: s.user_id, text: `${s.name} (${s.load} of ${s.capacity})`, disabled: s.load >= s.capacity })));
  $("transfer-queue").replaceChildren(...[...queues.values()].map((q) => el("option", { value: q.queue, text: q.name })));
  $("transfer-error").hidden = true;
  $("transfer-note").value = "";
  dialog.returnValue = "";
  dialog.showModal();
  dialog.addEventListener("close", async () => {
    if (dialog.returnValue !== "confirm") return;
    const note = $("transfer-note").value;
    const toQueue = dialog.querySelector("input[name=target-kind]:checked").value === "queue";
    try {
      if (toQueue) {
        await socket.request("conversation.requeue", { conversation_id: pane.id, queue: $("transfer-queue").value, note });
      } else {
        const target = Number($("transfer-advisor").value);
        if (!target) throw new Error("Nobody is free to take it.");
        await socket.request("transfer.offer", { conversation_id: pane.id, to_user_id: target, note });
        showNotice("Transfer offered. The chat stays with you until it is accepted.");
      }
    } catch (error) { showNotice(`Transfer failed: ${error.message}`); }
  }, { once: true });
}

for (const radio of document.querySelectorAll("input[name=target-kind]")) {
  radio.addEventListener("change", () => {
    const toQueue = document.querySelector("input[name=target-kind]:checked").value === "queue";
    $("transfer-queue-field").hidden = !toQueue;
    $("transfer-advisor-field").hidden = toQueue;
  });
}

function showOffer(offer) {
  const box = el("div", { class: "offer", role: "alertdialog", "aria-labelledby": `offer-${offer.transfer_id}` },
    el("p", { id: `offer-${offer.transfer_id}`, text: `${offer.from_name} offers you a chat.` }),
    offer.note ? el("p", { class: "note", text: `Note: ${offer.note}` }) : null,
  );
  const respond = async (acceptIt) => {
    box.remove();
    try {
      const result = await socket.request("transfer.respond", { transfer_id: offer.transfer_id, accept: acceptIt });
      if (acceptIt && result.conversation) select(openPane(result.conversation).pane.id);
    } catch (error) { showNotice(error.message); }
  };
  box.append(
    el("button", { type: "button", class: "primary", text: "Accept", onclick: () => respond(true) }),
    el("button", { type: "button", text: "Decline", onclick: () => respond(false) }),
  );
  $("offers").append(box);
  if (soundOn()) beep();
  box.querySelector("button").focus();
}

$("take-next").addEventListener("click", async () => {
  try {
    const result = await socket.request("queue.take_next");
    select(openPane(result.conversation).pane.id);
  } catch (error) {
    showNotice(error.code === "queue_empty" ? "Nobody is waiting in your queues." : error.message);
  }
});

$("availability").addEventListener("change", async (event) => {
  try { renderState(await socket.request("availability.set", { availability: event.target.value })); }
  catch (error) { showNotice(error.message); }
});

socket.on("connected", async (result) => {
  $("connection-banner").hidden = true;
  renderState(result.state);
  canned = (await socket.request("canned.list")).responses;
});
socket.on("disconnected", () => { $("connection-banner").hidden = false; });
socket.on("staff.state", (s) => { if (s.user_id === Number(root.dataset.userId)) renderState(s); });
socket.on("queue", (snapshot) => {
  const before = [...queues.values()].reduce((n, q) => n + q.length, 0);
  queues.set(snapshot.queue, snapshot);
  renderQueues();
  const after = [...queues.values()].reduce((n, q) => n + q.length, 0);
  if (after > before) { announce("A new visitor is waiting."); if (soundOn()) beep(); }
});
socket.on("conversation", (summary) => {
  if (summary.role === "none" && !panes.has(summary.conversation_id)) return;
  openPane(summary);
});
socket.on("conversation.left", (message) => {
  closePane(message.conversation_id);
  showNotice(message.reason === "transferred" || message.reason === "reassigned"
    ? "A chat was transferred to another advisor." : "A chat went back to the queue.");
});
socket.on("entry", (entry) => {
  const item = panes.get(entry.conversation_id);
  if (!item) return;
  item.pane.addEntry(entry);
  if (entry.conversation_id !== selected || document.hidden) {
    if (entry.kind !== "event") {
      item.unread += 1;
      renderTab(entry.conversation_id);
      if (soundOn()) beep();
    }
  } else if (entry.sender_kind === "visitor") {
    socket.send({ type: "receipt", conversation_id: entry.conversation_id, seq: entry.seq });
  }
  if (entry.sender_kind === "visitor") announce("New message from a visitor.");
});
socket.on("entry.amended", (amended) => panes.get(amended.conversation_id)?.pane.amendEntry(amended));
socket.on("typing", (message) => {
  const item = panes.get(message.conversation_id);
  if (item && message.sender_kind === "visitor") item.pane.showTyping(message.active);
});
socket.on("transfer.offered", showOffer);
socket.on("referral", (notice) => {
  const box = el("p", { class: "notice", role: "status" },
    "Referral ", el("a", { href: `/risk/referrals/${notice.referral_id}/`, text: notice.reference }),
    ` is now ${notice.state.replaceAll("_", " ")}.`);
  $("offers").append(box);
  setTimeout(() => box.remove(), 15000);
});
socket.on("transfer.result", (result) => {
  if (result.state === "declined") showNotice("Your transfer was declined; the chat stays with you.");
});
setInterval(renderQueues, 30000);
socket.connect();
