// The helpline chat widget: the one script a helpline's page includes.
//
//   <script src="https://CHAT-SERVER/widget.js" async
//           data-title="Chat" data-accent="#1d4f91" data-language="en"
//           data-exit-url="https://www.bbc.co.uk/weather"></script>
//
// It adds a launcher button (in a shadow root, so the page's CSS cannot reach it) and,
// when opened, the chat in a frame served from the chat server. It keeps no chat state: that
// lives in the frame, in memory. Quick exit (the frame's "Leave this site", or Shift pressed three
// times on its own anywhere on this page or in the frame) blanks the page at once, asks the frame
// to end the chat and close any tab it opened, and replaces this page in the history with the
// exit site. The chat's title and the exit site are what the chat server says for this site
// (staff configuration first, then this tag's data-title and data-exit-url).
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || window.__helplineChat) return;
  window.__helplineChat = true;
  const base = new URL(script.src).origin;
  const data = script.dataset;
  const TAG = "helpline-chat";
  const language = data.language || (navigator.language || "en").slice(0, 2);

  function frameUrl(config) {
    const url = new URL("/widget/frame/", base);
    const params = {
      lang: language,
      accent: /^#[0-9a-fA-F]{6}$/.test(data.accent || "") ? data.accent : "",
      site: config.site,
    };
    for (const [key, value] of Object.entries(params)) if (value) url.searchParams.set(key, value);
    return url.toString();
  }

  const configUrl = new URL("/widget/config", base);
  configUrl.searchParams.set("lang", language);
  if (data.title) configUrl.searchParams.set("title", data.title);
  if (data.exitUrl) configUrl.searchParams.set("exit", data.exitUrl);
  fetch(configUrl, { mode: "cors", credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer" })
    .then((response) => (response.ok ? response.json() : Promise.reject(new Error(String(response.status)))))
    .then((config) => (config.allowed ? start(config) : refuse()))
    .catch(refuse);

  function refuse() {
    console.error(
      `Helpline chat: this site (${location.origin}) is not allowed to show the chat widget, so it will not run. ` +
        `Ask the helpline to add ${location.origin} to WIDGET_ALLOWED_ORIGINS on ${base}.`,
    );
  }

  function start(config) {
    const exitTo = config.exit_url;
    const host = document.createElement("div");
    host.setAttribute("data-helpline-chat", "");
    const root = host.attachShadow({ mode: "open" });
    // A constructed style sheet: styles the launcher without an inline <style> the page's
    // Content-Security-Policy might refuse.
    const sheet = new CSSStyleSheet();
    const accent = /^#[0-9a-fA-F]{6}$/.test(data.accent || "") ? data.accent : "#1d4f91";
    sheet.replaceSync(`
      :host { all: initial; }
      .launcher { position: fixed; right: 16px; bottom: 16px; z-index: 2147483646; font: 600 16px/1.2 system-ui, sans-serif;
        color: #fff; background: ${accent}; border: 2px solid #fff; border-radius: 24px; padding: 12px 20px;
        box-shadow: 0 2px 8px rgba(0,0,0,.35); cursor: pointer; }
      .launcher:focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }
      .panel { position: fixed; right: 16px; bottom: 76px; z-index: 2147483647; width: 400px; height: 640px;
        max-height: calc(100vh - 92px); border: 1px solid #c9c9d3; border-radius: 12px; overflow: hidden;
        background: #fff; box-shadow: 0 4px 24px rgba(0,0,0,.3); }
      .panel[hidden], .blank[hidden] { display: none; }
      iframe { width: 100%; height: 100%; border: 0; display: block; }
      .blank { position: fixed; inset: 0; z-index: 2147483647; background: #fff; }
      .count { position: fixed; left: 50%; top: 16px; transform: translateX(-50%); z-index: 2147483647; margin: 0;
        font: 600 16px/1.3 system-ui, sans-serif; color: #1b1b1f; background: #fff; border: 2px solid #8a1c1c;
        border-radius: 8px; padding: 8px 14px; box-shadow: 0 2px 8px rgba(0,0,0,.35); }
      .count:empty { border: 0; padding: 0; box-shadow: none; }
      .count .dots { color: #8a1c1c; letter-spacing: .15em; }
      @media (max-width: 480px) {
        .panel { inset: 0; width: 100%; height: 100%; max-height: none; border: 0; border-radius: 0; }
      }
    `);
    root.adoptedStyleSheets = [sheet];

    const launcher = document.createElement("button");
    launcher.type = "button";
    launcher.className = "launcher";
    // The site's configured title, else "Chat" in the page's language (the server says which).
    const label = config.launcher || config.title;
    launcher.textContent = label;
    launcher.setAttribute("aria-expanded", "false");
    const panel = document.createElement("div");
    panel.className = "panel";
    panel.hidden = true;
    panel.id = "panel";
    launcher.setAttribute("aria-controls", "panel");
    const blank = document.createElement("div");
    blank.className = "blank";
    blank.hidden = true;
    // The Shift count, visible and announced (a live region present from the start).
    const count = document.createElement("p");
    count.className = "count";
    count.setAttribute("role", "status");
    count.lang = language;
    root.append(launcher, panel, blank, count);
    document.body.append(host);

    let frame = null;
    let loaded = false;
    function open() {
      if (!frame) {
        frame = document.createElement("iframe");
        frame.addEventListener("load", () => { loaded = true; });
        frame.title = label;
        frame.src = frameUrl(config);
        frame.referrerPolicy = "no-referrer";
        frame.allow = "";
        panel.append(frame);
      }
      panel.hidden = false;
      launcher.setAttribute("aria-expanded", "true");
      frame.focus();
      if (loaded) frame.contentWindow.postMessage({ source: TAG, type: "opened" }, base);
    }
    function minimise() {
      panel.hidden = true;
      launcher.setAttribute("aria-expanded", "false");
      launcher.focus();
    }
    launcher.addEventListener("click", () => (panel.hidden ? open() : minimise()));
    // Escape minimises (inside the frame, the chat page asks for the same).
    root.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !panel.hidden) minimise();
    });

    let leaving = false;
    function quickExit(frameAlreadyEnded) {
      if (leaving) return;
      leaving = true;
      blank.hidden = false; // blank at once, before anything else
      panel.hidden = true;
      launcher.hidden = true;
      document.title = "";
      const go = () => {
        if (frame) frame.remove();
        frame = null;
        location.replace(exitTo);
      };
      if (!frameAlreadyEnded && frame && loaded) {
        // Let the frame tell the server (its socket and a beacon), but never wait long.
        frame.contentWindow.postMessage({ source: TAG, type: "quick-exit" }, base);
        const timer = setTimeout(go, 300);
        window.addEventListener("message", (event) => {
          if (event.origin === base && event.data && event.data.type === "exited") { clearTimeout(timer); go(); }
        });
      } else {
        go();
      }
    }

    window.addEventListener("message", (event) => {
      if (event.origin !== base || !frame || event.source !== frame.contentWindow) return;
      if (!event.data || event.data.source !== TAG) return;
      if (event.data.type === "quick-exit") quickExit(true);
      else if (event.data.type === "minimise") minimise();
    });

    // Only a Shift pressed and released on its own counts; any other key in between resets
    // the count (the rule of GOV.UK's "Exit this page", and of the frame's exit-first.js).
    let presses = 0;
    let first = 0;
    let shiftDown = false;
    let spoiled = false;
    let timer = null;
    function showCount(remaining) {
      count.replaceChildren();
      if (!remaining) return;
      const dots = document.createElement("span");
      dots.className = "dots";
      dots.setAttribute("aria-hidden", "true");
      dots.textContent = `${"\u25CF".repeat(3 - remaining)}${"\u25CB".repeat(remaining)} `;
      count.append(dots, remaining === 2 ? config.strings.exit_press_2 : config.strings.exit_press_1);
    }
    function reset() {
      clearTimeout(timer);
      if (presses) { presses = 0; showCount(0); }
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
      if (!presses || now - first > 5000) { presses = 0; first = now; }
      presses += 1;
      clearTimeout(timer);
      if (presses >= 3) { reset(); quickExit(false); return; }
      showCount(3 - presses);
      timer = setTimeout(reset, 5000 - (now - first));
    }, true);
    window.addEventListener("blur", () => { shiftDown = false; });
  }
})();
