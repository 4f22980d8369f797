// The tabs the chat opens, which quick exit closes. The button and the keyboard rule are in
// exit-first.js, which runs before any module.

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
