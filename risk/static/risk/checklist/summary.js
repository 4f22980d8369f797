// The live score, level and criteria with the referral offer, and professional judgement.

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
  const reason = el("textarea", { id: `jr-${ui.conversationId.slice(0, 8)}`, rows: "2", maxlength: "4000" });
  reason.value = a.judgement_reason || "";
  const check = el("input", { type: "checkbox", checked: a.judgement_high });
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const apply = async () => {
    error.hidden = true;
    try { await ui.save({ judgement_reason: reason.value, judgement_high: check.checked }, true); }
    catch (e) { error.textContent = e.message; error.hidden = false; check.checked = false; }
  };
  check.addEventListener("change", apply);
  reason.addEventListener("change", apply);
  return el("div", { class: "judgement" },
    el("label", { class: "inline" }, check, " Professional judgement: raise to high risk"),
    el("label", { for: reason.id, text: "Reason (required)" }), reason, error);
}

export function renderLive(ui, live) {
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
