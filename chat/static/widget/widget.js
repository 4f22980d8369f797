// The helpline chat widget: the one script a helpline's page includes.
//
//   <script src="https://CHAT-SERVER/widget.js" async
//           data-title="Chat" data-accent="#1d4f91" data-language="en"
//           data-exit-url="https://www.bbc.co.uk/weather"></script>
//
// It adds a launcher button (in a shadow root, so the page's CSS cannot reach it) and,
// when opened, the chat in a frame served from the chat server. It keeps no chat state: that
// lives in the frame, in memory. Quick exit (the frame's "Leave this site", or Shift pressed three
// times anywhere on this page or in the frame) blanks the page at once, asks the frame to end
// the chat, and replaces this page in the history with the exit site.
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || window.__helplineChat) return;
  window.__helplineChat = true;
  const base = new URL(script.src).origin;
  const data = script.dataset;
  const exitUrl = /^https?:\/\//.test(data.exitUrl || "") ? data.exitUrl : null;
  const TAG = "helpline-chat";

  function frameUrl() {
    const url = new URL("/widget/frame/", base);
    const params = {
      lang: data.language || (navigator.language || "en").slice(0, 2),
      title: data.title || "",
      accent: /^#[0-9a-fA-F]{6}$/.test(data.accent || "") ? data.accent : "",
      exit: exitUrl || "",
    };
    for (const [key, value] of Object.entries(params)) if (value) url.searchParams.set(key, value);
    return url.toString();
  }

  const language = data.language || (navigator.language || "en").slice(0, 2);
  const configUrl = new URL("/widget/config", base);
  configUrl.searchParams.set("lang", language);
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
    const exitTo = exitUrl || config.exit_url;
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
      @media (max-width: 480px) {
        .panel { inset: 0; width: 100%; height: 100%; max-height: none; border: 0; border-radius: 0; }
      }
    `);
    root.adoptedStyleSheets = [sheet];

    const launcher = document.createElement("button");
    launcher.type = "button";
    launcher.className = "launcher";
    // The helpline's own wording, else "Chat" in the page's language.
    const label = data.title || config.launcher || "Chat";
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
    root.append(launcher, panel, blank);
    document.body.append(host);

    let frame = null;
    let loaded = false;
    function open() {
      if (!frame) {
        frame = document.createElement("iframe");
        frame.addEventListener("load", () => { loaded = true; });
        frame.title = label;
        frame.src = frameUrl();
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

    let shifts = [];
    document.addEventListener(
      "keydown",
      (event) => {
        if (event.key !== "Shift" || event.repeat) return;
        const now = Date.now();
        shifts = shifts.filter((t) => now - t < 5000);
        shifts.push(now);
        if (shifts.length >= 3) quickExit(false);
      },
      true,
    );
  }
})();
