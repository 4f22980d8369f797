// "We can't start a chat just now": the service is paused, or staff blocked this visitor (or
// their connection). Said neutrally, with the other ways to get help.
import { greetedWith } from "./connection.js";
import { loadDirectory } from "./directory.js";
import { $, show } from "./screens.js";
import { T, forgetChat, state } from "./state.js";

export function refuse(message) {
  $("refused-message").textContent = message;
  show("refused");
  loadDirectory(null);
}

// Blocked: nothing of the chat stays on screen, and nothing more of it follows.
export function unavailable() {
  if (state.screen === "refused" && state.ended) return;
  state.ended = true;
  forgetChat();
  $("transcript").replaceChildren();
  $("connection").hidden = true;
  greetedWith(null); // the directory needs no hello: the socket stays open for it
  refuse(T.unavailable);
}
