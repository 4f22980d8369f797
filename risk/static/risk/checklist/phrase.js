// Return phrases in the risk panel. With a case: "Offer a return phrase" draws words on the server
// and shows them once, for the advisor to read to the visitor (never sent to the visitor's screen,
// never stored here beyond that moment: "I have read it to the visitor" drops them); a live phrase
// can be revoked. Without a case: the words a returning visitor gives, with their consent ticked,
// link this chat to their case.

import { el } from "../../console/dom.js";
import { field } from "./controls.js";

// ui.phrase: { caseId, active, words, loading, error } for the case drawn.
function phraseState(ui, caseId) {
  if (!ui.phrase || ui.phrase.caseId !== caseId) {
    ui.phrase = { caseId, active: null, words: null, loading: true, error: "" };
    fetchState(ui, caseId);
  }
  return ui.phrase;
}

async function fetchState(ui, caseId) {
  try {
    const response = await fetch(`/risk/api/cases/${caseId}/return-phrase/`, { credentials: "same-origin" });
    const data = await response.json();
    if (!response.ok) throw new Error((data.error && data.error.message) || `The server answered ${response.status}.`);
    if (ui.phrase.caseId === caseId) Object.assign(ui.phrase, { active: data.active, loading: false });
  } catch (e) {
    if (ui.phrase.caseId === caseId) Object.assign(ui.phrase, { loading: false, error: e.message });
  }
  ui.rerender();
}

export function phraseSection(ui, state) {
  const base = `${ui.prefix}-rp`;
  const phrase = phraseState(ui, state.case.id);
  const section = el("section", { class: "return-phrase", id: base, "aria-labelledby": `${base}-h` },
    el("h4", { id: `${base}-h`, text: "Return phrase" }));
  if (ui.linkedByPhrase === state.case.id) {
    section.append(el("p", { class: "linked", role: "status", id: `${base}-linked`,
      text: `This chat joined case ${state.case.reference} by the visitor's return phrase, with their consent: `
        + "the case record shows their earlier chats." }));
  }
  const act = async (url, focus) => {
    phrase.error = "";
    try {
      const answer = await ui.send(url, url.endsWith("/revoke/") ? {} : { conversation_id: ui.conversationId });
      Object.assign(phrase, { active: answer.active, words: answer.phrase || null });
    } catch (e) { phrase.error = e.message; }
    ui.focusNext = phrase.error ? `${base}-h` : focus;
    ui.rerender();
  };
  if (phrase.words) {
    section.append(
      el("p", { text: "Read these words to the visitor. They are shown only now and are not kept:" }),
      el("p", { class: "phrase-words", id: `${base}-words`, tabindex: "-1", text: phrase.words }),
      el("p", { class: "hint", text: "They can give them in a later chat, from any device, to link it to this case. "
        + "Suggest they keep them in memory, not on the device." }),
      el("button", { type: "button", id: `${base}-done`, text: "I have read it to the visitor",
        onclick: () => { phrase.words = null; ui.focusNext = `${base}-offer`; ui.rerender(); } }),
    );
  } else if (phrase.loading) {
    section.append(el("p", { class: "hint", text: "Loading…" }));
  } else {
    section.append(el("p", { class: "hint", id: `${base}-status`, text: phrase.active
      ? `A return phrase is live (offered ${new Date(phrase.active.issued_at).toLocaleString()}; chats linked: ${phrase.active.linked}).`
      : "No return phrase is live for this case." }));
    const offer = el("button", { type: "button", id: `${base}-offer`,
      text: phrase.active ? "Offer a new return phrase" : "Offer a return phrase",
      onclick: () => act(`/risk/api/cases/${state.case.id}/return-phrase/`, `${base}-words`) });
    const revoke = phrase.active ? el("button", { type: "button", id: `${base}-revoke`, text: "Revoke the return phrase",
      onclick: () => act(`/risk/api/return-phrases/${phrase.active.id}/revoke/`, `${base}-status`) }) : null;
    section.append(el("div", { class: "actions" }, offer, " ", revoke));
  }
  if (phrase.error) section.append(el("p", { class: "error", role: "alert", text: phrase.error }));
  return section;
}

// Before a chat has a case: link it by the phrase a returning visitor gives, with their consent.
export function phraseLink(ui) {
  const base = `${ui.prefix}-rl`;
  const words = el("input", { autocomplete: "off", spellcheck: "false", autocapitalize: "off", maxlength: "200" });
  const consent = el("input", { type: "checkbox", id: `${base}-consent` });
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const link = async () => {
    error.hidden = true;
    if (!consent.checked) {
      error.textContent = "Ask the visitor first: link only with their consent, and tick it.";
      error.hidden = false;
      consent.focus();
      return;
    }
    const body = { phrase: words.value, consent: true, ...(ui.startVersion ? { version: ui.startVersion } : {}) };
    try {
      const state = await ui.send(`/risk/api/conversations/${ui.conversationId}/return-phrase/`, body);
      words.value = "";
      ui.linkedByPhrase = state.case.id;
      ui.rerender(state);
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
      words.focus();
    }
  };
  return el("fieldset", { class: "return-phrase-link", id: base },
    el("legend", { text: "Returning visitor with a return phrase" }),
    field({ id: `${base}-words`, label: "Return phrase the visitor gives", control: words }),
    el("label", { class: "checkline" }, consent, " The visitor agrees to link this chat to their earlier case"),
    el("button", { type: "button", id: `${base}-go`, text: "Link with the return phrase", onclick: link }),
    error,
  );
}
