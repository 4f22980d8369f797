// The panel's form controls, shared by its parts. Every control gets an id from its place in the
// checklist, the same on every render, so that focus can go back to it after a save redraws the
// panel.

import { el } from "../../console/dom.js";

export const ANSWER = { yes: "Yes", no: "No", dont_know: "Don't know" };

// Radios for one answer; `onchange` gets the key chosen.
export function radios({ id, options, value, onchange }) {
  const choices = el("div", { class: "choices" });
  for (const [key, label] of Object.entries(options)) {
    choices.append(el("label", { class: "inline" },
      el("input", { type: "radio", id: `${id}-${key}`, name: id, value: key, checked: value === key,
        onchange: () => onchange(key) }),
      ` ${label}`));
  }
  return choices;
}

// The same in a fieldset whose legend asks the question.
export function radioGroup({ id, legend, options, value, onchange }) {
  return el("fieldset", { class: "choice-group" }, el("legend", { text: legend }),
    radios({ id, options, value, onchange }));
}

// A group of checkboxes (any number of options); `onchange` gets the keys ticked, in the given order.
export function tickGroup({ id, legend, options, selected, onchange }) {
  const ticked = new Set(selected || []);
  const box = el("fieldset", { class: "tick-group" }, el("legend", { text: legend }));
  const inputs = options.map((option) => el("input", { type: "checkbox", id: `${id}-${option.key}`,
    value: option.key, checked: ticked.has(option.key) }));
  const changed = () => onchange(inputs.filter((input) => input.checked).map((input) => input.value));
  options.forEach((option, n) => {
    inputs[n].addEventListener("change", changed);
    box.append(el("label", { class: "checkline" }, inputs[n], ` ${option.label}`));
  });
  return box;
}

// A labelled text area or date input in a `.field` (the field's id; the control's is `<id>-input`).
export function field({ id, label, control }) {
  control.id = `${id}-input`;
  return el("div", { class: "field", id }, el("label", { for: control.id, text: label }), control);
}

// Today's date in the browser's time zone, as the date inputs give it (YYYY-MM-DD).
export function today() {
  const now = new Date();
  return [now.getFullYear(), now.getMonth() + 1, now.getDate()].map((n) => String(n).padStart(2, "0")).join("-");
}

// A date the advisor typed: "" when cleared, null (with the reason) when it cannot be saved.
export function checkedDate(input) {
  if (input.validity.badInput) return { value: null, problem: "Enter the whole date, or clear it." };
  if (input.value && input.value > today()) return { value: null, problem: "The date cannot be in the future." };
  return { value: input.value, problem: null };
}

// A <details> that stays as the advisor left it (open or closed) when the panel is drawn again.
export function remembered(ui, id, openByDefault, summary) {
  const open = id in ui.open ? ui.open[id] : openByDefault;
  const box = el("details", { id, open }, el("summary", { id: `${id}-s`, text: summary }));
  // Opening it as it is made fires a toggle too: only a change from what was drawn is kept.
  let shown = open;
  box.addEventListener("toggle", () => {
    if (box.open !== shown) { shown = box.open; ui.open[id] = box.open; }
  });
  return box;
}
