// The chat has ended (by either side, or while the visitor was away): the token goes, the
// messages stay on screen (with "Clear screen") unless the visitor ended it, and the socket stays
// open only for the optional feedback question, then closes.
import { socket, request } from "./connection.js";
import { askFeedback } from "./feedback.js";
import { $, show } from "./screens.js";
import { forgetChat, state } from "./state.js";

export function finish() {
  if (state.ended) return;
  state.ended = true;
  forgetChat();
  show("ended");
  $("chat").hidden = false;
  $("composer").hidden = true;
  askFeedback(request, () => socket.disconnect());
}
