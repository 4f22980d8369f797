// The live summary at the top of the panel (score, level, criteria met with the referral offer)
// and professional judgement.

import { el } from "../../console/dom.js";
import { call } from "../../console/http.js";

const LEVEL = { standard: "Standard", medium: "Medium", high: "High" };
const CRITERION = {
  visible_high_risk: "Visible high risk",
  professional_judgement: "Professional judgement",
  potential_escalation: "Potential escalation",
  repeat: "Repeat MARAC",
};

export function judgement(ui, a) {
  const id = `${ui.prefix}-judgement`;
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

// What the live region says, as data: it is redrawn (and so read out) only when this changes.
export function summaryKey(state) {
  return JSON.stringify(state.evaluation);
}

export function summary(ui, state) {
  const result = state.evaluation;
  const parts = [
    el("p", { class: "score" },
      el("strong", { text: `Score ${result.score} of 24` }), " · Level: ",
      el("strong", { class: `level level-${result.level}`, text: LEVEL[result.level] }),
      ` · ${result.unanswered.length} not asked`),
  ];
  if (result.referral_due) parts.push(referralOffer(ui, result));
  return parts;
}

function referralOffer(ui, result) {
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const start = el("button", { type: "button", class: "primary", id: `${ui.prefix}-referral`, text: "Start the MARAC referral",
    onclick: async () => {
      error.hidden = true;
      try {
        const created = await call("POST", `/risk/api/cases/${ui.state.case.id}/referrals/`, { assessment_id: ui.state.assessment.id });
        window.open(created.referral.url, "_blank", "noopener");
      } catch (e) { error.textContent = `The referral was not started: ${e.message}`; error.hidden = false; }
    } });
  return el("div", { class: "criterion", role: "status" },
    el("p", { text: `Referral criteria met: ${result.criteria.map((c) => `${CRITERION[c.key] || c.key} (${c.detail})`).join("; ")}.` }),
    start, error);
}
