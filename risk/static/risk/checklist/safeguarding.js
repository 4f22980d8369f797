// Children's safeguarding: when risks to children are recorded and the case has no decision yet,
// the panel asks whether a referral is needed to safeguard them and records the decision on the
// case (date and reason; the reason is required when a referral is needed). A recorded decision
// is shown, with the safeguarding hub's referral to start when one is needed; a new decision can
// be recorded after it (the case keeps every decision).

import { el } from "../../console/dom.js";
import { checkedDate, field, radioGroup, today } from "./controls.js";
import { referralStart } from "./summary.js";

export function safeguardingSection(ui, state) {
  const decision = state.safeguarding;
  if (!decision && !state.evaluation.safeguarding_due) return null;
  const base = `${ui.prefix}-sg`;
  const section = el("section", { class: "safeguarding", id: base, "aria-labelledby": `${base}-h` },
    el("h4", { id: `${base}-h`, text: "Safeguarding the children" }));
  if (decision && !ui.safeguardingAgain) {
    section.append(
      el("p", { id: `${base}-decision`, tabindex: "-1" },
        el("strong", { text: decision.needed ? "Referral needed" : "No referral needed" }),
        ` · decided on ${decision.decided_on} · recorded by ${decision.recorded_by}`),
      decision.reason ? el("p", { class: "reason", text: decision.reason }) : null,
      decision.needed ? el("p", {}, ...referralStart(ui, "mash", "Start the children's safeguarding (MASH) referral")) : null,
      el("button", { type: "button", id: `${base}-again`, text: "Record a new decision",
        onclick: () => { ui.safeguardingAgain = true; ui.focusNext = `${base}-needed-yes`; ui.rerender(); } }),
    );
    return section;
  }
  section.append(decisionForm(ui, state, base, Boolean(decision)));
  return section;
}

function decisionForm(ui, state, base, again) {
  // What the advisor has entered so far survives the panel being drawn again by other saves.
  ui.safeguardingDraft = ui.safeguardingDraft || { needed: null, decided_on: today(), reason: "" };
  const draft = ui.safeguardingDraft;
  const date = el("input", { type: "date", max: today(), value: draft.decided_on,
    oninput: () => { draft.decided_on = date.value; } });
  const reason = el("textarea", { rows: "3", maxlength: "2000", oninput: () => { draft.reason = reason.value; } });
  reason.value = draft.reason;
  const error = el("p", { class: "error", role: "alert", id: `${base}-error`, hidden: true });
  const refuse = (message, control) => {
    error.textContent = message;
    error.hidden = false;
    if (control) control.focus();
  };
  const submit = async (event) => {
    event.preventDefault();
    const needed = draft.needed;
    const when = checkedDate(date);
    if (!needed) return refuse("Say whether a referral is needed.", document.getElementById(`${base}-needed-yes`));
    if (when.problem || !when.value) return refuse(when.problem || "Enter the date of the decision.", date);
    if (needed === "yes" && !reason.value.trim()) return refuse("Give the reason a referral is needed.", reason);
    try {
      const next = await ui.send(`/risk/api/cases/${state.case.id}/safeguarding/`, {
        needed: needed === "yes", decided_on: when.value, reason: reason.value.trim(), assessment_id: state.assessment.id,
      });
      ui.safeguardingDraft = null;
      ui.safeguardingAgain = false;
      ui.focusNext = `${base}-decision`;
      ui.rerender(next);
    } catch (e) { refuse(`Not recorded: ${e.message}`); }
  };
  return el("form", { class: "safeguarding-form", "aria-describedby": error.id, onsubmit: submit },
    el("p", { text: again ? "A new decision is added to the case; the earlier ones stay on it."
      : "Risks to children are recorded for this case." }),
    radioGroup({ id: `${base}-needed`, legend: "Is a referral needed to safeguard the children?",
      options: { yes: "Yes", no: "No" }, value: draft.needed, onchange: (value) => { draft.needed = value; } }),
    field({ id: `${base}-on`, label: "Date of the decision", control: date }),
    field({ id: `${base}-reason`, label: "Reason (required when a referral is needed)", control: reason }),
    error,
    el("div", { class: "actions" },
      again ? el("button", { type: "button", id: `${base}-cancel`, text: "Cancel",
        onclick: () => { ui.safeguardingAgain = false; ui.safeguardingDraft = null; ui.focusNext = `${base}-again`; ui.rerender(); } }) : null,
      el("button", { type: "submit", class: "primary", id: `${base}-record`, text: "Record the decision" })),
  );
}

