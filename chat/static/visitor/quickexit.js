// Quick exit's keyboard rule and the tabs the chat opens, shared by every page we serve.
//
// Only a Shift pressed and released on its own counts (GOV.UK's "Exit this page" rule): any
// other key in between - a capital letter, "?", Shift+Tab, Shift+Enter - resets the count, so
// typing never triggers it. Three lone Shifts within 5 seconds leave. widget.js applies the
// same rule on the host page.

export const PRESSES = 3;
export const WINDOW_MS = 5000;

export function shiftRule({ onCount, onExit, target = document }) {
  let count = 0;
  let first = 0;
  let shiftDown = false;
  let spoiled = false;
  let timer = null;
  const reset = () => {
    clearTimeout(timer);
    if (count) { count = 0; onCount(0); }
  };
  target.addEventListener("keydown", (event) => {
    if (event.key === "Shift") {
      if (!event.repeat) { shiftDown = true; spoiled = event.ctrlKey || event.altKey || event.metaKey; }
      return;
    }
    spoiled = true;
    reset();
  }, true);
  target.addEventListener("keyup", (event) => {
    if (event.key !== "Shift") return;
    const lone = shiftDown && !spoiled;
    shiftDown = false;
    if (!lone) { reset(); return; }
    const now = Date.now();
    if (!count || now - first > WINDOW_MS) { count = 0; first = now; }
    count += 1;
    clearTimeout(timer);
    if (count >= PRESSES) { count = 0; onExit(); return; }
    onCount(PRESSES - count);
    timer = setTimeout(reset, WINDOW_MS - (now - first));
  }, true);
  // Switching away mid-press (another window, the frame) must not leave a half-counted Shift.
  window.addEventListener("blur", () => { shiftDown = false; });
}

// The visible count under the bar, which is also the screen reader's announcement.
export function showCount(element, strings, remaining) {
  element.replaceChildren();
  if (!remaining) return;
  const dots = document.createElement("span");
  dots.className = "dots";
  dots.setAttribute("aria-hidden", "true");
  dots.textContent = `${"●".repeat(PRESSES - remaining)}${"○".repeat(remaining)} `;
  element.append(dots, remaining === 2 ? strings.exit_press_2 : strings.exit_press_1);
}

// Tabs we open (a map, a service's website) are tracked so that quick exit can close them.
// Opened blank first and sent on from here, so the other site gets no referrer. The tab keeps
// its opener: a browser lets a page close only tabs it opened and is still linked to. (From the
// widget's frame, Chromium refuses the other site any navigation of the chat through it.)
const opened = [];

export function openElsewhere(url) {
  const tab = window.open("about:blank", "_blank");
  if (!tab) return false;
  tab.location.href = url;
  opened.push(tab);
  return true;
}

export function closeOpened() {
  for (const tab of opened.splice(0)) {
    try { tab.close(); } catch { /* already closed */ }
  }
}
