// One conversation's pane: transcript, typing, composer with canned responses, actions.
import { mountRiskPanel } from "../risk/checklist.js";
import { connectionLost } from "../visitor/protocol.js";
import { bidiControls, el, timeLabel, triageRows, withNumbersIsolated } from "./dom.js";

const KIND_LABEL = { note: "Private note", whisper: "Whisper from supervisor" };
const STATE_LABEL = {
  triage: "In triage",
  queued: "Waiting in the queue",
  active: "Active",
  waiting_visitor: "Visitor disconnected, waiting for them to come back",
  closed: "Ended",
};

// The signed-in person's languages (their staff profile), and names for language codes.
const MY_LANGUAGES = (document.getElementById("console")?.dataset.languages || "en").split(",").filter(Boolean);
const NAMES = new Intl.DisplayNames(["en"], { type: "language" });
function languageName(code) {
  try { return `${NAMES.of(code)} (${code})`; } catch { return code; }
}

let clientIds = 0;
function clientMsgId() {
  clientIds += 1;
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}-${clientIds}`;
}

// How the visitor came in, as staff read it; the widget's visitors carry no label.
const CHANNEL_LABEL = { telegram: "Telegram" };

export function channelLabel(channel) {
  return CHANNEL_LABEL[channel] || channel || "";
}

export class ChatPane {
  constructor({ socket, summary, canned, onAction, composerKinds = ["text", "note"], canEnd = false }) {
    this.socket = socket;
    this.canEnd = canEnd;
    this.id = summary.conversation_id;
    this.canned = canned;
    this.onAction = onAction;
    const fragment = document.getElementById("chat-pane-template").content.cloneNode(true);
    this.root = fragment.querySelector(".chat-pane");
    this.root.id = `pane-${this.id}`;
    this.transcript = this.root.querySelector(".transcript");
    this.transcript.setAttribute("aria-label", "Conversation");
    this.typing = this.root.querySelector(".typing");
    this.form = this.root.querySelector(".composer");
    this.textarea = this.form.querySelector("textarea");
    this.textarea.id = `composer-${this.id}`;
    this.form.querySelector(".composer-label").setAttribute("for", this.textarea.id);
    this.cannedList = this.form.querySelector(".canned");
    this.cannedList.id = `canned-${this.id}`;
    this.cannedList.setAttribute("aria-label", "Canned responses");
    this.error = this.form.querySelector(".composer-error");
    this.hint = this.form.querySelector(".composer-hint");
    this.translateDraft = this.form.querySelector(".translate-draft");
    this.translateDraft.addEventListener("click", () => this.translateComposer());
    this.setupKinds(composerKinds);
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.sendFromComposer(); });
    this.textarea.addEventListener("input", () => this.composerChanged());
    this.textarea.addEventListener("keydown", (event) => this.composerKey(event));
    for (const button of this.root.querySelectorAll("[data-action]")) {
      button.addEventListener("click", () => this.onAction(button.dataset.action, this));
    }
    this.update(summary);
    mountRiskPanel(this.root.querySelector(".risk-panel"), this.id);
  }

  setupKinds(kinds) {
    const group = this.form.querySelector(".composer-kind");
    group.setAttribute("aria-label", "Send as");
    group.replaceChildren(...kinds.map((kind, index) => {
      const input = el("input", { type: "radio", name: `kind-${this.id}`, value: kind, checked: index === 0 });
      const label = { text: "Message to visitor", note: "Private note", whisper: "Whisper to advisor" }[kind];
      return el("label", { class: "inline" }, input, ` ${label}`);
    }));
  }

  get kind() {
    return this.form.querySelector(`input[name="kind-${this.id}"]:checked`).value;
  }

  update(summary) {
    this.summary = summary;
    this.root.querySelector(".chat-title").textContent = summary.title || `Visitor · ${this.id.slice(0, 6)}`;
    let state = STATE_LABEL[summary.state] || summary.state;
    if (summary.holder && summary.role !== "holder") state += ` · with ${summary.holder.name}`;
    this.root.querySelector(".chat-state").textContent = state;
    const channel = this.root.querySelector(".chat-channel");
    channel.hidden = !summary.channel || summary.channel === "web";
    channel.textContent = channelLabel(summary.channel);
    const closed = summary.state === "closed";
    this.textarea.disabled = closed;
    this.form.querySelector("button[type=submit]").disabled = closed;
    for (const button of this.root.querySelectorAll("[data-action]")) {
      const action = button.dataset.action;
      if (action === "dismiss") { button.hidden = !closed; continue; }
      if (action === "block") {
        // Also once the chat has ended: abuse often comes just before the visitor leaves.
        button.hidden = !(summary.role === "holder" || this.canEnd) || summary.close_reason === "blocked";
        continue;
      }
      const holderOnly = ["transfer", "requeue"].includes(action);
      const allowed = summary.role === "holder" || (action === "end" && this.canEnd);
      button.hidden = closed || !allowed || (holderOnly && summary.role !== "holder");
    }
    this.showLanguage(summary);
    const dl = this.root.querySelector(".triage dl");
    dl.replaceChildren(...triageRows(summary.triage).flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
  }

  showLanguage(summary) {
    const chat = summary.language || "en";
    const detected = summary.detected_language;
    let line = languageName(chat);
    if (detected && detected !== chat) line += ` · the visitor's words read as ${languageName(detected)}`;
    this.root.querySelector(".language-line").textContent = line;
    const spoken = [chat, detected].filter(Boolean).some((code) => MY_LANGUAGES.includes(code));
    let help = "";
    if (!spoken) {
      help = `You don't list ${NAMES.of(chat) || chat} among your languages: ask a supervisor for an interpreter.`;
      help += summary.translation
        ? " Machine translation is available: Translate under a message, or Translate my draft."
        : " No machine translation is available here.";
    }
    this.root.querySelector(".language-help").textContent = help;
    this.root.querySelector(".language-help").hidden = !help;
    this.translateDraft.hidden = !summary.translation || summary.state === "closed" || MY_LANGUAGES.includes(chat);
  }

  async translateEntry(entry, item, button) {
    button.disabled = true;
    try {
      const result = await this.socket.request("translate", { conversation_id: this.id, seq: entry.seq });
      const out = el("span", { class: "translated", lang: result.target, dir: "auto",
        text: `Machine translation from ${languageName(result.source)}: ${result.text}` });
      item.querySelector(".translated")?.remove();
      button.after(out);
      button.hidden = true;
    } catch (error) {
      button.disabled = false;
      button.textContent = `Translate (failed: ${error.message})`;
    }
  }

  async translateComposer() {
    const text = this.textarea.value.trim();
    if (!text) return;
    this.translateDraft.disabled = true;
    this.error.hidden = true;
    try {
      const result = await this.socket.request("translate", { conversation_id: this.id, text });
      this.textarea.value = result.text;
      this.hint.textContent = `Machine translation into ${languageName(result.target)} of: "${text}". Check it before you send.`;
      this.hint.hidden = false;
      this.textarea.focus();
    } catch (error) {
      this.error.textContent = `Not translated: ${error.message}`;
      this.error.hidden = false;
    } finally {
      this.translateDraft.disabled = false;
    }
  }

  addEntry(entry) {
    const mine = entry.sender_kind !== "visitor" && entry.kind !== "event";
    const classes = ["entry", `entry-${entry.kind}`, `from-${entry.sender_kind}`];
    if (mine) classes.push("mine");
    let who = entry.sender_kind === "visitor" ? "Visitor" : entry.sender_name || entry.sender_kind;
    if (KIND_LABEL[entry.kind]) who = `${KIND_LABEL[entry.kind]} · ${who}`;
    const item = el(
      "li",
      { class: classes.join(" "), "data-seq": entry.seq },
      entry.kind === "event" ? null : el("span", { class: "who", text: who }),
      // Its own direction, isolated: a direction character inside it reorders nothing after it.
      withNumbersIsolated(el("span", { class: "text", dir: "auto" }), entry.text || ""),
      el("time", { datetime: entry.created_at, text: timeLabel(entry.created_at) }),
    );
    const controls = bidiControls(entry.text);
    if (controls.length) {
      item.querySelector(".text").after(el("span", { class: "badge bidi-warning",
        text: `Hidden direction characters (${controls.join(", ")}): this message may show in another order than it was typed.` }));
    }
    if (entry.kind === "text" && entry.sender_kind === "visitor" && this.summary.translation) {
      const button = el("button", { type: "button", class: "link translate", text: "Translate" });
      button.addEventListener("click", () => this.translateEntry(entry, item, button));
      item.querySelector(".text").after(button);
    }
    this.transcript.append(item);
    item.scrollIntoView({ block: "nearest" });
    if (entry.sender_kind === "visitor") this.showTyping(false);
  }

  // An entry's text changed after it was shown (a return phrase masked once used).
  amendEntry(amended) {
    const text = this.transcript.querySelector(`li[data-seq="${Number(amended.seq)}"] .text`);
    if (!text) return;
    text.replaceChildren();
    withNumbersIsolated(text, amended.text);
  }

  showTyping(active) {
    this.typing.hidden = !active;
    clearTimeout(this.typingTimer);
    if (active) this.typingTimer = setTimeout(() => { this.typing.hidden = true; }, 8000);
  }

  composerChanged() {
    const text = this.textarea.value;
    if (this.kind === "text" && this.summary.role !== "monitor" && Date.now() - (this.lastTyping || 0) > 3000) {
      this.lastTyping = Date.now();
      this.socket.send({ type: "typing", conversation_id: this.id, active: true });
    }
    if (text.startsWith("/")) this.showCanned(text.slice(1).toLowerCase());
    else this.cannedList.hidden = true;
  }

  showCanned(query) {
    const matches = this.canned().filter((c) => c.shortcut.includes(query) || c.title.toLowerCase().includes(query));
    this.cannedList.replaceChildren(...matches.slice(0, 8).map((c, index) => {
      const option = el(
        "li",
        { role: "option", id: `canned-${this.id}-${index}`, "aria-selected": index === 0 ? "true" : "false", tabindex: "-1" },
        el("strong", { text: `/${c.shortcut}` }), ` ${c.title}`,
      );
      option.addEventListener("mousedown", (event) => { event.preventDefault(); this.useCanned(c); });
      option.dataset.text = c.text;
      return option;
    }));
    this.cannedList.hidden = matches.length === 0;
  }

  useCanned(response) {
    this.textarea.value = response.text;
    this.cannedList.hidden = true;
    this.textarea.focus();
  }

  composerKey(event) {
    if (!this.cannedList.hidden) {
      const options = [...this.cannedList.children];
      const current = options.findIndex((o) => o.getAttribute("aria-selected") === "true");
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const next = (current + (event.key === "ArrowDown" ? 1 : options.length - 1)) % options.length;
        options.forEach((o, i) => o.setAttribute("aria-selected", i === next ? "true" : "false"));
        return;
      }
      if ((event.key === "Enter" || event.key === "Tab") && current >= 0) {
        event.preventDefault();
        this.textarea.value = options[current].dataset.text;
        this.cannedList.hidden = true;
        return;
      }
      if (event.key === "Escape") { this.cannedList.hidden = true; return; }
    }
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      this.sendFromComposer();
    }
  }

  async sendFromComposer() {
    const text = this.textarea.value.trim();
    if (!text) return;
    const message = { conversation_id: this.id, client_msg_id: clientMsgId(), text, kind: this.kind };
    this.error.hidden = true;
    this.hint.hidden = true;
    this.textarea.value = "";
    try {
      await this.send(message);
    } catch (error) {
      this.textarea.value = text;
      this.error.textContent = `Not sent: ${error.message}`;
      this.error.hidden = false;
    }
  }

  async send(message, attempts = 3) {
    // The same client_msg_id on a retry: the server stores it once.
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.socket.request("message.send", message);
      } catch (error) {
        if (!connectionLost(error) || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
      }
    }
  }
}
