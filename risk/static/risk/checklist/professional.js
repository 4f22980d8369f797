// The professional's section, after the questions: the advisor's own view, not read out to the
// visitor. Each field is drawn by its kind and saved as it changes (text when the advisor leaves
// it, a date when it is whole).

import { el } from "../../console/dom.js";
import { ANSWER, checkedDate, field, radioGroup, tickGroup, today } from "./controls.js";

export function professionalSection(ui, a, def) {
  if (!def.professional.length) return null;
  const base = `${ui.prefix}-pro`;
  const section = el("section", { class: "professional", "aria-labelledby": `${base}-h` },
    el("h4", { id: `${base}-h`, text: "The professional's section" }),
    el("p", { class: "hint", text: "For you, not read out: your own view, after the questions." }));
  for (const spec of def.professional) section.append(professionalField(ui, a, spec, `${base}-${spec.key}`));
  return section;
}

function professionalField(ui, a, spec, id) {
  const stored = a.professional[spec.key];
  const saveValue = (value, control) => ui.save({ professional: { [spec.key]: value } }, { at: id, control });
  if (spec.kind === "ticks") {
    return tickGroup({ id, legend: spec.label, options: spec.options, selected: stored,
      onchange: (keys) => saveValue(keys.length ? keys : null) });
  }
  if (spec.kind === "choice") {
    return radioGroup({ id, legend: spec.label, options: ANSWER, value: stored, onchange: (value) => saveValue(value) });
  }
  if (spec.kind === "text") {
    const text = el("textarea", { rows: "3", maxlength: "2000" });
    text.value = stored || "";
    text.addEventListener("change", () => saveValue(text.value.trim() ? text.value : null, text));
    return field({ id, label: spec.label, control: text });
  }
  if (spec.kind === "date") {
    const date = el("input", { type: "date", max: today(), value: stored || "" });
    // Saved when the advisor leaves the field: a date typed in parts is whole only then.
    let sent = stored || "";
    const leave = () => {
      const { value, problem } = checkedDate(date);
      if (problem) ui.refuse(id, problem, date);
      else if (value !== sent) { sent = value; saveValue(value || null, date); }
    };
    date.addEventListener("blur", leave);
    date.addEventListener("keydown", (e) => { if (e.key === "Enter") leave(); });
    return field({ id, label: spec.label, control: date });
  }
  return el("p", { id, class: "error", text: `${spec.label}: this panel cannot show a field of kind ${spec.kind}.` });
}
