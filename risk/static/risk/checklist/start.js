// Before a chat has a case: the advisor chooses the checklist by the visitor's age (the versions
// in use now, the adults' one first chosen) and starts it, or attaches the chat to a returning
// visitor's case.

import { el } from "../../console/dom.js";
import { field } from "./controls.js";
import { phraseLink } from "./phrase.js";

export function versionLabel(version) {
  return `${version.audience.label} · ${version.version}`;
}

// What the chosen version means for MARAC, said under the choice.
function maracHint(version) {
  return version && !version.audience.marac
    ? "MARAC is for victims aged 16 and over: this checklist offers no MARAC referral."
    : "MARAC is for victims aged 16 and over.";
}

export function startView(ui) {
  const base = `${ui.prefix}-start`;
  const { versions } = ui;
  const adult = versions.find((v) => v.audience.key === "adult") || versions[0];
  if (!versions.some((v) => v.version === ui.startVersion)) ui.startVersion = adult ? adult.version : null;
  const chosen = () => versions.find((v) => v.version === ui.startVersion);
  const hint = el("p", { class: "hint", id: `${base}-hint`, text: maracHint(chosen()) });
  const select = el("select", { "aria-describedby": hint.id,
    onchange: () => { ui.startVersion = select.value; hint.textContent = maracHint(chosen()); } },
  ...versions.map((v) => el("option", { value: v.version, selected: v.version === ui.startVersion, text: versionLabel(v) })));
  const reference = el("input", { maxlength: "12", autocomplete: "off" });
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const start = async (withReference) => {
    error.hidden = true;
    const body = { ...(ui.startVersion ? { version: ui.startVersion } : {}), ...(withReference ? { reference: reference.value } : {}) };
    try {
      ui.rerender(await ui.send(`/risk/api/conversations/${ui.conversationId}/case/`, body));
    } catch (e) { error.textContent = e.message; error.hidden = false; }
  };
  return [
    field({ id: `${base}-version`, label: "Checklist, by the visitor's age", control: select }),
    hint,
    el("button", { type: "button", class: "primary", id: `${base}-go`, text: "Start the risk checklist", onclick: () => start(false) }),
    field({ id: `${base}-ref`, label: "Returning visitor's case reference", control: reference }),
    el("button", { type: "button", id: `${base}-attach`, text: "Attach to that case", onclick: () => start(true) }),
    error,
    phraseLink(ui),
  ];
}
