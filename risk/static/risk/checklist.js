// The risk checklist beside a chat: "before you ask", the items (one at a time or as a list),
// the live score, level and criteria, saved as the advisor goes; offers the referral.

import { el } from "../console/dom.js";
import { call } from "../console/http.js";
import { answer, beforeYouAsk, question } from "./checklist/items.js";
import { startView } from "./checklist/start.js";
import { judgement, renderLive } from "./checklist/summary.js";

export function mountRiskPanel(panel, conversationId) {
  const ui = { panel, conversationId, state: null, oneAtATime: false, index: 0 };
  ui.save = (patch, rethrow) => save(ui, patch, rethrow);
  ui.rerender = (state) => render(ui, state);
  panel.replaceChildren(el("h3", { text: "Risk checklist" }), el("p", { class: "hint", text: "Loading…" }));
  call("GET", `/risk/api/conversations/${conversationId}/`).then((state) => render(ui, state)).catch((error) => {
    panel.replaceChildren(el("h3", { text: "Risk checklist" }), el("p", { class: "error", text: error.message }));
  });
}

function render(ui, state) {
  ui.state = state;
  const { panel } = ui;
  if (!state.case) {
    panel.replaceChildren(el("h3", { text: "Risk checklist" }), ...startView(ui));
    return;
  }
  const a = state.assessment;
  const def = a.definition;
  const live = el("div", { class: "live", "aria-live": "polite" });
  const items = el("div", { class: "items" });
  const toggle = el("button", { type: "button", text: ui.oneAtATime ? "Show as a list" : "One at a time",
    onclick: () => { ui.oneAtATime = !ui.oneAtATime; render(ui, ui.state); } });
  panel.replaceChildren(
    el("h3", { text: `Risk checklist · case ${state.case.reference}` }),
    live,
    el("p", {}, el("a", { href: state.case.url, target: "_blank", rel: "noopener", text: "Open the case record" }), " ", toggle),
    beforeYouAsk(ui, a, def),
    items,
    judgement(ui, a),
  );
  renderLive(ui, live);
  const blocks = [["Core", def.core]];
  if (a.has_children) blocks.push(["Children and dependants", def.children]);
  if (answer(a, "c08") === "yes") blocks.push(["Stalking", def.stalking]);
  if (answer(a, "c04") === "yes" || a.honour_flag) blocks.push(["Honour-based abuse", def.honour]);
  const all = blocks.flatMap(([title, list]) => list.map((item) => ({ ...item, block: title })));
  items.append(
    el("label", { class: "inline" }, el("input", { type: "checkbox", checked: a.has_children,
      onchange: (e) => save(ui, { has_children: e.target.checked }) }), " Children in the household"),
    el("label", { class: "inline" }, el("input", { type: "checkbox", checked: a.honour_flag,
      onchange: (e) => save(ui, { honour_flag: e.target.checked }) }), " Concern about honour-based abuse"),
  );
  if (ui.oneAtATime) {
    ui.index = Math.min(ui.index, all.length - 1);
    const item = all[ui.index];
    items.append(
      el("p", { class: "hint", text: `${ui.index + 1} of ${all.length} · ${item.block}` }),
      question(ui, a, item),
      el("div", { class: "actions" },
        el("button", { type: "button", text: "Previous", disabled: ui.index === 0,
          onclick: () => { ui.index -= 1; render(ui, ui.state); } }),
        el("button", { type: "button", text: "Next", disabled: ui.index === all.length - 1,
          onclick: () => { ui.index += 1; render(ui, ui.state); } })),
    );
  } else {
    let current = "";
    for (const item of all) {
      if (item.block !== current) { current = item.block; items.append(el("h4", { text: current })); }
      items.append(question(ui, a, item));
    }
  }
}

async function save(ui, patch, rethrow = false) {
  try {
    const state = await call("POST", `/risk/api/assessments/${ui.state.assessment.id}/`, patch);
    const focusKey = document.activeElement && document.activeElement.closest(".checklist-item")
      ? document.activeElement.closest(".checklist-item").dataset.key : null;
    const focusValue = document.activeElement ? document.activeElement.value : null;
    render(ui, state);
    if (focusKey) {
      const again = ui.panel.querySelector(`.checklist-item[data-key="${focusKey}"] input[value="${focusValue}"]`);
      if (again) again.focus();
    }
  } catch (error) {
    if (rethrow) throw error;
    ui.panel.querySelector(".live").append(el("p", { class: "error", role: "alert", text: `Not saved: ${error.message}` }));
  }
}
