// Quick exit from the moment the page is on screen: the "Leave this site" button and three lone
// Shifts, on every page we serve to visitors.
//
// A classic script, neither a module nor deferred, so it runs before the page is drawn. The
// chat's modules run only once all of them have arrived, and on a slow or busy connection a
// visitor can press the button, or Shift, before that; this script listens from the start.
// When it is time to leave it asks the page first (a cancelable "quick-exit" event on the
// document): exit.js, once loaded, takes it and also ends the chat and closes the tabs the chat
// opened. Unanswered, it leaves from here with what needs no module.
//
// The keyboard rule is GOV.UK's "Exit this page": only a Shift pressed and released on its own
// counts, and any other key in between (a capital letter, "?", Shift+Tab, Shift+Enter) resets
// the count, so typing never triggers it. Three lone Shifts within 5 seconds leave. widget.js
// applies the same rule on the host page.
(() => {
  const TAG = "helpline-chat";
  const TOKEN_KEY = "chat-resume"; // the key state.js keeps a resumable chat under
  const PRESSES = 3;
  const WINDOW_MS = 5000;

  function config() {
    try { return JSON.parse(document.getElementById("widget-config").textContent); } catch { return {}; }
  }

  let leaving = false;
  function leaveHere() {
    if (leaving) return;
    leaving = true;
    const exitUrl = config().exitUrl || "about:blank"; // the page always carries it; blank beats staying
    document.body.replaceChildren();
    document.title = "";
    try {
      const token = sessionStorage.getItem(TOKEN_KEY);
      if (token) {
        navigator.sendBeacon("/chat/quick-exit/", new Blob([JSON.stringify({ token })], { type: "application/json" }));
      }
      sessionStorage.clear();
    } catch { /* nothing stored, or storage is blocked */ }
    if (window.parent !== window) {
      // In the widget: the host page's script blanks and navigates it; this is the fallback.
      window.parent.postMessage({ source: TAG, type: "quick-exit" }, "*");
      try { window.top.location.replace(exitUrl); } catch { /* the host does it */ }
    } else {
      window.location.replace(exitUrl);
    }
  }

  function leave() {
    const taken = !document.dispatchEvent(new CustomEvent("quick-exit", { cancelable: true }));
    if (!taken) leaveHere();
  }

  // The visible count under the bar, which is also the screen reader's announcement.
  function showCount(remaining) {
    const element = document.getElementById("exit-count");
    if (!element) return;
    element.replaceChildren();
    if (!remaining) return;
    const strings = config().strings || {};
    const dots = document.createElement("span");
    dots.className = "dots";
    dots.setAttribute("aria-hidden", "true");
    dots.textContent = `${"\u25CF".repeat(PRESSES - remaining)}${"\u25CB".repeat(remaining)} `;
    element.append(dots, (remaining === 2 ? strings.exit_press_2 : strings.exit_press_1) || "");
  }

  let count = 0;
  let first = 0;
  let shiftDown = false;
  let spoiled = false;
  let timer = null;
  function reset() {
    clearTimeout(timer);
    if (count) { count = 0; showCount(0); }
  }
  document.addEventListener("keydown", (event) => {
    if (event.key === "Shift") {
      if (!event.repeat) { shiftDown = true; spoiled = event.ctrlKey || event.altKey || event.metaKey; }
      return;
    }
    spoiled = true;
    reset();
  }, true);
  document.addEventListener("keyup", (event) => {
    if (event.key !== "Shift") return;
    const lone = shiftDown && !spoiled;
    shiftDown = false;
    if (!lone) { reset(); return; }
    const now = Date.now();
    if (!count || now - first > WINDOW_MS) { count = 0; first = now; }
    count += 1;
    clearTimeout(timer);
    if (count >= PRESSES) { count = 0; showCount(0); leave(); return; }
    showCount(PRESSES - count);
    timer = setTimeout(reset, WINDOW_MS - (now - first));
  }, true);
  // Switching away mid-press (another window, the frame) must not leave a half-counted Shift.
  window.addEventListener("blur", () => { shiftDown = false; });

  document.addEventListener("click", (event) => {
    if (event.target instanceof Element && event.target.closest("#quick-exit")) leave();
  });
})();
