// The checklist's questions: "before you ask" and one item with its answer, source and comment.

import { el } from "../../console/dom.js";

const LABEL = { yes: "Yes", no: "No", dont_know: "Don't know" };

export function answer(a, key) {
  return a.answers[key] ? a.answers[key].value : null;
}

export function beforeYouAsk(ui, a, def) {
  const box = el("details", { open: Object.keys(a.before_you_ask).length < def.before_you_ask.length },
    el("summary", { text: "Before you ask" }));
  for (const item of def.before_you_ask) {
    box.append(el("label", { class: "checkline" },
      el("input", { type: "checkbox", checked: Boolean(a.before_you_ask[item.key]),
        onchange: (e) => ui.save({ before_you_ask: { [item.key]: e.target.checked } }) }),
      ` ${item.question}`));
  }
  return box;
}

export function question(ui, a, item) {
  const name = `q-${ui.conversationId.slice(0, 8)}-${item.key}`;
  const current = answer(a, item.key);
  const choices = el("div", { class: "choices" });
  for (const value of ["yes", "no", "dont_know"]) {
    choices.append(el("label", { class: "inline" },
      el("input", { type: "radio", name, value, checked: current === value,
        onchange: () => ui.save({ answers: { [item.key]: { ...(a.answers[item.key] || {}), value } } }) }),
      ` ${LABEL[value]}`));
  }
  const comment = el("input", { id: `${name}-c`, maxlength: "2000", value: (a.answers[item.key] || {}).comment || "" });
  const source = el("input", { id: `${name}-s`, maxlength: "200", value: (a.answers[item.key] || {}).source || "" });
  const saveDetail = () => ui.save({ answers: { [item.key]: { value: current, source: source.value, comment: comment.value } } });
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
