// The risk checklist beside a chat: the version chosen by the visitor's age, "before you ask", the
// items (one at a time or as a list) with the details a yes asks for, the professional's section,
// the live score, level, prompts and criteria, children's safeguarding; saved as the advisor goes;
// offers the referral.
//
// Every save redraws the panel from the state the server answers with. Saves go one after another
// (the last state drawn is the newest), and a redraw keeps the advisor's place: the control they
// are on (by its id), what they are typing there, the list's scroll, which details are open. A
// save that fails redraws the last state saved and says why beside the control, keeping the text
// the advisor entered there.

import { el } from "../console/dom.js";
import { call } from "../console/http.js";
import { beforeYouAsk, itemsBox } from "./checklist/items.js";
import { phraseSection } from "./checklist/phrase.js";
import { professionalSection } from "./checklist/professional.js";
import { safeguardingSection } from "./checklist/safeguarding.js";
import { startView, versionLabel } from "./checklist/start.js";
import { judgement, summary, summaryKey } from "./checklist/summary.js";

export function mountRiskPanel(panel, conversationId) {
  const ui = {
    panel, conversationId, prefix: `rk-${conversationId.slice(0, 8)}`, state: null, versions: [],
    oneAtATime: false, index: 0, open: {}, failed: {}, queue: Promise.resolve(), saving: 0, focusNext: null, frame: null,
  };
  ui.send = (url, body) => send(ui, url, body);
  ui.save = (patch, options) => save(ui, patch, options);
  ui.refuse = (at, message, control) => {
    ui.failed[at] = { message, control: control.id, value: control.value };
    showFailures(ui);
  };
  ui.rerender = (state = ui.state) => render(ui, state);
  panel.replaceChildren(el("h3", { text: "Risk checklist" }), el("p", { class: "hint", text: "Loading…" }));
  call("GET", `/risk/api/conversations/${conversationId}/`).then((state) => render(ui, state)).catch((error) => {
    panel.replaceChildren(el("h3", { text: "Risk checklist" }), el("p", { class: "error", text: error.message }));
  });
}

function send(ui, url, body) {
  const run = ui.queue.then(() => call("POST", url, body));
  ui.queue = run.catch(() => null);
  return run;
}

// A save's answer is drawn only when no later save is on its way: a quick run of answers never
// flickers back through the states in between.
async function save(ui, patch, { at = "panel", control = null } = {}) {
  const url = `/risk/api/assessments/${ui.state.assessment.id}/`;
  ui.saving += 1;
  try {
    ui.state = await send(ui, url, patch);
    delete ui.failed[at];
    delete ui.failed.panel;
  } catch (error) {
    ui.failed[at] = { message: `Not saved: ${error.message}`, control: control && control.id, value: control && control.value };
  }
  ui.saving -= 1;
  if (!ui.saving) render(ui, ui.state);
}

function render(ui, state) {
  ui.state = state;
  if (state.versions) ui.versions = state.versions;
  const place = keepPlace(ui);
  if (!state.case) {
    ui.frame = null;
    ui.panel.replaceChildren(el("h3", { text: "Risk checklist" }), ...startView(ui));
  } else {
    drawChecklist(ui, state);
  }
  showFailures(ui);
  restorePlace(ui, place);
}

// The heading and the live region stay the same nodes from one save to the next, so a screen
// reader hears what changed in the summary, and only that.
function drawChecklist(ui, state) {
  if (!ui.frame || !ui.panel.contains(ui.frame.live)) {
    ui.frame = {
      title: el("h3", { id: `${ui.prefix}-title`, tabindex: "-1" }),
      version: el("div", { class: "version" }),
      live: el("div", { class: "live", "aria-live": "polite" }),
      body: el("div", { class: "checklist-body" }),
      key: null,
    };
    ui.panel.replaceChildren(ui.frame.title, ui.frame.version, ui.frame.live, ui.frame.body);
    ui.focusNext = ui.focusNext || ui.frame.title.id;
  }
  const { frame } = ui;
  const a = state.assessment;
  const def = a.definition;
  frame.title.textContent = `Risk checklist · case ${state.case.reference}`;
  const key = summaryKey(state);
  if (key !== frame.key) {
    frame.key = key;
    frame.live.replaceChildren(...summary(ui, state));
  }
  const toggle = el("button", { type: "button", id: `${ui.prefix}-mode`, text: ui.oneAtATime ? "Show as a list" : "One at a time",
    onclick: () => { ui.oneAtATime = !ui.oneAtATime; ui.rerender(); } });
  frame.version.replaceChildren(versionLine(ui, a));
  frame.body.replaceChildren(
    el("div", { id: `${ui.prefix}-errors` }),
    safeguardingSection(ui, state) || "",
    el("p", { class: "links" },
      el("a", { href: state.case.url, target: "_blank", rel: "noopener", id: `${ui.prefix}-case`, text: "Open the case record" }),
      " ", toggle),
    beforeYouAsk(ui, a, def),
    itemsBox(ui, a, def),
    professionalSection(ui, a, def) || "",
    judgement(ui, a),
    phraseSection(ui, state),
  );
}

// Which version this assessment uses; another may be chosen until the first answer is given.
function versionLine(ui, a) {
  const others = ui.versions.filter((v) => v.version !== a.version);
  const label = `${a.audience.label} · version ${a.version}`;
  if (Object.keys(a.answers).length || !others.length) return el("p", { class: "hint", text: `Checklist: ${label}` });
  const id = `${ui.prefix}-version`;
  const select = el("select", { id: `${id}-input`, onchange: () => ui.save({ version: select.value }, { at: id }) },
    el("option", { value: a.version, selected: true, text: versionLabel({ version: a.version, audience: a.audience }) }),
    ...others.map((v) => el("option", { value: v.version, text: versionLabel(v) })));
  return el("div", { class: "field", id },
    el("label", { for: select.id, text: "Checklist, by the visitor's age (until the first answer)" }), select);
}

function isText(node) {
  return node.tagName === "TEXTAREA" || (node.tagName === "INPUT" && ["", "text", "search"].includes(node.getAttribute("type") || ""));
}

function keepPlace(ui) {
  const active = document.activeElement;
  const mine = active && active.id && ui.panel.contains(active) ? active : null;
  const items = ui.panel.querySelector(".items");
  return {
    id: mine && mine.id,
    text: mine && isText(mine) ? { value: mine.value, start: mine.selectionStart, end: mine.selectionEnd } : null,
    scroll: items ? items.scrollTop : 0,
  };
}

// Back to the control the advisor was on, or to the one an action named (`ui.focusNext`).
function restorePlace(ui, place) {
  const id = ui.focusNext || place.id;
  const text = ui.focusNext ? null : place.text;
  ui.focusNext = null;
  const items = ui.panel.querySelector(".items");
  if (items) items.scrollTop = place.scroll;
  const again = id ? document.getElementById(id) : null;
  if (!again || !ui.panel.contains(again)) return;
  if (text && again.value !== text.value) again.value = text.value;
  again.focus();
  if (text) again.setSelectionRange(text.start, text.end);
}

// Failed saves, each beside its control (or at the top), kept until that control saves.
function showFailures(ui) {
  for (const old of ui.panel.querySelectorAll(".field-error")) old.remove();
  for (const [at, failure] of Object.entries(ui.failed)) {
    const box = document.getElementById(at === "panel" ? `${ui.prefix}-errors` : at);
    if (!box || !ui.panel.contains(box)) continue;
    const note = el("p", { class: "error field-error", id: `${box.id}-error`, text: failure.message });
    // Said out loud when it first appears, not again on every redraw.
    if (!failure.shown) note.setAttribute("role", "alert");
    failure.shown = true;
    box.append(note);
    const control = failure.control ? document.getElementById(failure.control) : null;
    if (control) {
      if (failure.value !== null && failure.value !== undefined && failure.value !== "") control.value = failure.value;
      control.setAttribute("aria-invalid", "true");
      control.setAttribute("aria-describedby", note.id);
    }
  }
}
