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

// A labelled text area or date input in a `.field` (the field's id; the control's is `<id>-input`).
export function field({ id, label, control }) {
  control.id = `${id}-input`;
  return el("div", { class: "field", id }, el("label", { for: control.id, text: label }), control);
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
