// The chat's screens are sections of one page; one shows at a time (the chat also shows under
// the queue, so that a visitor can write while waiting), and the focus moves to its heading.
import { state } from "./state.js";

export const $ = (id) => document.getElementById(id);

const SCREENS = ["notice", "safety", "triage", "options", "waiting", "chat", "ended", "closed", "refused"];

export function focusCurrent() {
  const current = state.screen;
  const heading = $(current).querySelector("h1");
  if (heading && current !== "chat") { heading.tabIndex = -1; heading.focus(); }
  else if (current === "chat") $("message").focus();
}

export function show(id) {
  state.screen = id;
  for (const section of SCREENS) {
    $(section).hidden = section !== id && !(id === "waiting" && section === "chat");
  }
  focusCurrent();
}
