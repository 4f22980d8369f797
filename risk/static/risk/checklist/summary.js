// The live summary at the top of the panel (score of the version's core items, level with the
// band's label, MARAC's age limit, prompts to consider judgement, criteria met with the referral
// offer) and professional judgement itself.

import { el } from "../../console/dom.js";
import { call } from "../../console/http.js";

const LEVEL = { standard: "Standard", medium: "Medium", high: "High" };
const CRITERION = {
  visible_high_risk: "Visible high risk",
  professional_judgement: "Professional judgement",
  potential_escalation: "Potential escalation",
  repeat: "Repeat MARAC",
};

export function judgementId(ui) {
  return `${ui.prefix}-judgement`;
}

export function judgement(ui, a) {
  const id = judgementId(ui);
  const reason = el("textarea", { id: `${id}-reason`, rows: "2", maxlength: "4000" });
  reason.value = a.judgement_reason || "";
  const check = el("input", { type: "checkbox", id: `${id}-high`, checked: a.judgement_high });
  const apply = (control) => ui.save({ judgement_reason: reason.value, judgement_high: check.checked }, { at: id, control });
  check.addEventListener("change", () => apply(reason));
  reason.addEventListener("change", () => apply(reason));
  return el("div", { class: "judgement", id },
    el("label", { class: "inline" }, check, " Professional judgement: raise to high risk"),
    el("label", { for: reason.id, text: "Reason (required)" }), reason);
}

// The level shown, with the band's own label where the level is the band ("Medium (local
// practice)"), and the band beside it where judgement or a criterion raised the level.
function levelText(result) {
  if (result.level === result.band) return result.band_label;
  return `${LEVEL[result.level] || result.level} (score band: ${result.band_label})`;
}

// What the live region says, as data: it is redrawn (and so read out) only when this changes.
export function summaryKey(state) {
  const { evaluation: result, assessment: a } = state;
  return JSON.stringify([result, a.definition.core.length, Boolean(state.safeguarding)]);
}

export function summary(ui, state) {
  const { evaluation: result, assessment: a } = state;
  const parts = [
    el("p", { class: "score" },
      el("strong", { text: `Score ${result.score} of ${a.definition.core.length}` }), " · Level: ",
      el("strong", { class: `level level-${result.level}`, text: levelText(result) }),
      ` · ${result.unanswered.length} not asked`),
  ];
  if (!result.marac_applies) {
    parts.push(el("p", { class: "marac-note" }, el("strong", { text: "MARAC is for victims aged 16 and over." }),
      " This checklist is for younger people: no MARAC referral is offered from it."));
  }
  if (result.prompts.length) parts.push(prompts(ui, result.prompts));
  if (result.safeguarding_due && !state.safeguarding) {
    parts.push(el("p", { class: "due", text: "Risks to children are recorded: decide below whether to refer to safeguard them." }));
  }
  if (result.referral_due && result.marac_applies) parts.push(referralOffer(ui, result));
  return parts;
}

function prompts(ui, list) {
  const go = () => {
    const check = document.getElementById(`${judgementId(ui)}-high`);
    if (check) { check.scrollIntoView({ block: "center" }); check.focus(); }
  };
  return el("div", { class: "prompts" },
    el("p", {}, el("strong", { text: "Consider professional judgement" })),
    el("ul", {}, ...list.map((prompt) => el("li", { "data-key": prompt.key, text: prompt.text }))),
    el("button", { type: "button", id: `${ui.prefix}-to-judgement`, text: "Go to professional judgement", onclick: go }));
}

// A button that drafts a referral of `kind` from the case and opens it in a new tab.
export function referralStart(ui, kind, label) {
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const start = el("button", { type: "button", class: kind === "marac" ? "primary" : "", id: `${ui.prefix}-referral-${kind}`, text: label,
    onclick: async () => {
      error.hidden = true;
      try {
        const created = await call("POST", `/risk/api/cases/${ui.state.case.id}/referrals/`, { assessment_id: ui.state.assessment.id, kind });
        window.open(created.referral.url, "_blank", "noopener");
      } catch (e) { error.textContent = `The referral was not started: ${e.message}`; error.hidden = false; }
    } });
  return [start, error];
}

// High risk: MARAC, and an IDVA service for the victim (the two go together for a high-risk case).
function referralOffer(ui, result) {
  return el("div", { class: "criterion", role: "status" },
    el("p", { text: `Referral criteria met: ${result.criteria.map((c) => `${CRITERION[c.key] || c.key} (${c.detail})`).join("; ")}.` }),
    el("p", { class: "actions" },
      ...referralStart(ui, "marac", "Start the MARAC referral"), " ",
      ...referralStart(ui, "idva", "Start an IDVA referral")));
}
