// The risk checklist beside a chat: "before you ask", the items (one at a time or as a list),
// the live score, level and criteria, saved as the advisor goes; offers the referral.

import { el } from "../console/dom.js";
import { call } from "../console/http.js";

const LABEL = { yes: "Yes", no: "No", dont_know: "Don't know" };
const LEVEL = { standard: "Standard", medium: "Medium", high: "High" };
const CRITERION = {
  visible_high_risk: "Visible high risk",
  professional_judgement: "Professional judgement",
  potential_escalation: "Potential escalation",
  repeat: "Repeat MARAC",
};

export function mountRiskPanel(panel, conversationId) {
  const ui = { panel, conversationId, state: null, oneAtATime: false, index: 0 };
  panel.replaceChildren(el("h3", { text: "Risk checklist" }), el("p", { class: "hint", text: "Loading…" }));
  call("GET", `/risk/api/conversations/${conversationId}/`).then((state) => render(ui, state)).catch((error) => {
    panel.replaceChildren(el("h3", { text: "Risk checklist" }), el("p", { class: "error", text: error.message }));
  });
}

function render(ui, state) {
  ui.state = state;
  const { panel } = ui;
  const id = ui.conversationId.slice(0, 8);
  if (!state.case) {
    const reference = el("input", { id: `ref-${id}`, maxlength: "12", autocomplete: "off" });
    const error = el("p", { class: "error", role: "alert", hidden: true });
    const start = async (withReference) => {
      try {
        render(ui, await call("POST", `/risk/api/conversations/${ui.conversationId}/case/`,
          withReference ? { reference: reference.value } : {}));
      } catch (e) { error.textContent = e.message; error.hidden = false; }
    };
    panel.replaceChildren(
      el("h3", { text: "Risk checklist" }),
      el("button", { type: "button", class: "primary", text: "Start the risk checklist", onclick: () => start(false) }),
      el("div", { class: "field" }, el("label", { for: `ref-${id}`, text: "Returning visitor's case reference" }), reference),
      el("button", { type: "button", text: "Attach to that case", onclick: () => start(true) }),
      error,
    );
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

function answer(a, key) {
  return a.answers[key] ? a.answers[key].value : null;
}

function beforeYouAsk(ui, a, def) {
  const box = el("details", { open: Object.keys(a.before_you_ask).length < def.before_you_ask.length },
    el("summary", { text: "Before you ask" }));
  for (const item of def.before_you_ask) {
    box.append(el("label", { class: "checkline" },
      el("input", { type: "checkbox", checked: Boolean(a.before_you_ask[item.key]),
        onchange: (e) => save(ui, { before_you_ask: { [item.key]: e.target.checked } }) }),
      ` ${item.question}`));
  }
  return box;
}

function question(ui, a, item) {
  const name = `q-${ui.conversationId.slice(0, 8)}-${item.key}`;
  const current = answer(a, item.key);
  const choices = el("div", { class: "choices" });
  for (const value of ["yes", "no", "dont_know"]) {
    choices.append(el("label", { class: "inline" },
      el("input", { type: "radio", name, value, checked: current === value,
        onchange: () => save(ui, { answers: { [item.key]: { ...(a.answers[item.key] || {}), value } } }) }),
      ` ${LABEL[value]}`));
  }
  const comment = el("input", { id: `${name}-c`, maxlength: "2000", value: (a.answers[item.key] || {}).comment || "" });
  const source = el("input", { id: `${name}-s`, maxlength: "200", value: (a.answers[item.key] || {}).source || "" });
  const saveDetail = () => save(ui, { answers: { [item.key]: { value: current, source: source.value, comment: comment.value } } });
  comment.addEventListener("change", saveDetail);
  source.addEventListener("change", saveDetail);
  return el("fieldset", { class: "checklist-item", "data-key": item.key },
    el("legend", { text: `${item.label}${current ? "" : " (not asked)"}` }),
    el("p", { class: "q", text: item.question }),
    choices,
    el("details", {}, el("summary", { text: "Source and comment" }),
      el("label", { for: source.id, text: "Source, if not the visitor" }), source,
      el("label", { for: comment.id, text: "Comment" }), comment),
  );
}

function judgement(ui, a) {
  const reason = el("textarea", { id: `jr-${ui.conversationId.slice(0, 8)}`, rows: "2", maxlength: "4000" });
  reason.value = a.judgement_reason || "";
  const check = el("input", { type: "checkbox", checked: a.judgement_high });
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const apply = async () => {
    error.hidden = true;
    try { await save(ui, { judgement_reason: reason.value, judgement_high: check.checked }, true); }
    catch (e) { error.textContent = e.message; error.hidden = false; check.checked = false; }
  };
  check.addEventListener("change", apply);
  reason.addEventListener("change", apply);
  return el("div", { class: "judgement" },
    el("label", { class: "inline" }, check, " Professional judgement: raise to high risk"),
    el("label", { for: reason.id, text: "Reason (required)" }), reason, error);
}

function renderLive(ui, live) {
  const result = ui.state.evaluation;
  live.replaceChildren(
    el("p", {}, el("strong", { text: `Score ${result.score} of 24` }), ` · Level: `,
      el("strong", { class: `level level-${result.level}`, text: LEVEL[result.level] }),
      ` · ${result.unanswered.length} not asked`),
  );
  if (result.referral_due) {
    const start = el("button", { type: "button", class: "primary", text: "Start the MARAC referral",
      onclick: async () => {
        const created = await call("POST", `/risk/api/cases/${ui.state.case.id}/referrals/`, { assessment_id: ui.state.assessment.id });
        window.open(created.referral.url, "_blank", "noopener");
      } });
    live.append(el("div", { class: "criterion", role: "status" },
      el("p", { text: `Referral criteria met: ${result.criteria.map((c) => `${CRITERION[c.key] || c.key} (${c.detail})`).join("; ")}.` }),
      start));
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
