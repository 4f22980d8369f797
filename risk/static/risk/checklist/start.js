// Before a chat has a case: start the checklist, or attach the chat to a returning visitor's case.

import { el } from "../../console/dom.js";
import { call } from "../../console/http.js";

export function startView(ui) {
  const id = ui.conversationId.slice(0, 8);
  const reference = el("input", { id: `ref-${id}`, maxlength: "12", autocomplete: "off" });
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const start = async (withReference) => {
    try {
      ui.rerender(await call("POST", `/risk/api/conversations/${ui.conversationId}/case/`,
        withReference ? { reference: reference.value } : {}));
    } catch (e) { error.textContent = e.message; error.hidden = false; }
  };
  return [
    el("button", { type: "button", class: "primary", text: "Start the risk checklist", onclick: () => start(false) }),
    el("div", { class: "field" }, el("label", { for: `ref-${id}`, text: "Returning visitor's case reference" }), reference),
    el("button", { type: "button", text: "Attach to that case", onclick: () => start(true) }),
    error,
  ];
}
