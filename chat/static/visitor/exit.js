// Leaving: quick exit (the button or three lone Shifts, both noticed by exit-first.js, or the
// host page asking), and the frame's minimise. Quick exit blanks the page first, tells the
// server (by the socket and by HTTP), forgets everything and goes to the deployment's exit.
import { socket } from "./connection.js";
import { closeOpened } from "./quickexit.js";
import { $, CONFIG, focusCurrent, setToken, state } from "./state.js";

const PARENT_ORIGIN_MESSAGE = "helpline-chat";

function toParent(type) {
  if (CONFIG.embedded && window.parent !== window) window.parent.postMessage({ source: PARENT_ORIGIN_MESSAGE, type }, "*");
}

let leaving = false;
function quickExit({ fromHost = false } = {}) {
  if (leaving) return;
  leaving = true;
  closeOpened(); // the tabs we opened (maps, services' sites) go first
  document.body.replaceChildren();
  document.title = "";
  try {
    socket.send({ type: "quick_exit" });
    // Also by HTTP, which gets through while the socket is reconnecting; either one is enough.
    if (state.token) {
      navigator.sendBeacon("/chat/quick-exit/", new Blob([JSON.stringify({ token: state.token })], { type: "application/json" }));
    }
  } catch {
    // Leaving matters more than telling the server; the grace period ends the chat anyway.
  }
  state.unsent.clear();
  setToken(null);
  try { sessionStorage.clear(); } catch { /* nothing stored */ }
  socket.close();
  if (fromHost) { toParent("exited"); return; }
  if (CONFIG.embedded && window.parent !== window) {
    // The host page's script blanks the page and navigates it; this is the fallback if it can't.
    toParent("quick-exit");
    try { window.top.location.replace(CONFIG.exitUrl); } catch { /* the host does it */ }
  } else {
    window.location.replace(CONFIG.exitUrl);
  }
}
document.addEventListener("quick-exit", (event) => {
  event.preventDefault(); // taken here: exit-first.js leaves only while this module is not loaded
  quickExit();
});
window.addEventListener("message", (event) => {
  if (event.source !== window.parent || !event.data || event.data.source !== PARENT_ORIGIN_MESSAGE) return;
  if (event.data.type === "quick-exit") quickExit({ fromHost: true });
  if (event.data.type === "opened") focusCurrent();
});
if ($("minimise")) $("minimise").addEventListener("click", () => toParent("minimise"));
document.addEventListener("keydown", (event) => {
  // Escape minimises the widget, unless something open on the page (a dialog, a list) takes it.
  if (event.key !== "Escape" || event.defaultPrevented || !CONFIG.embedded) return;
  if (document.querySelector("dialog[open]")) return;
  toParent("minimise");
});
