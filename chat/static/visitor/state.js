// The chat page's shared state and its screens: one screen shows at a time (the chat stays in
// view under the queue notice), and each takes the focus when it shows. Every other module of
// the page reads and changes the state through here.

export const $ = (id) => document.getElementById(id);
export const CONFIG = JSON.parse($("widget-config").textContent);
export const T = CONFIG.strings;
const TOKEN_KEY = "chat-resume";

export function say(template, values = {}) {
  return template.replace(/%\((\w+)\)s/g, (_, name) => String(values[name] ?? ""));
}

// The socket's error messages are for developers: a visitor reads a plain sentence for the code.
const PLAIN_ERRORS = {
  offline: T.offline,
  text_too_long: T.error_text_too_long,
  rate_limited: T.error_rate_limited,
  conversation_closed: T.error_chat_ended,
  no_conversation: T.error_chat_ended,
  invalid: T.error_not_sent,
  duplicate_client_id: T.error_not_sent,
  unknown_language: T.error_language,
  unknown_region: T.error_directory,
};
export function plain(error, fallback = T.try_again) {
  return PLAIN_ERRORS[error && error.code] || fallback;
}

export const state = {
  token: CONFIG.keepToken ? sessionStorage.getItem(TOKEN_KEY) : null,
  conversationId: null,
  unsent: new Map(), // client_msg_id -> text, resent after a reconnect
  ended: false,
  flow: null,
  answers: null,
  hours: null,
  nobody: false, // queued while nobody who could answer is on shift
};

export function setToken(token) {
  state.token = token;
  if (!CONFIG.keepToken) return;
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// --- Screens ---------------------------------------------------------------------------------

const SCREENS = ["notice", "safety", "triage", "options", "waiting", "chat", "ended", "closed", "refused"];
let current = "notice";

export function currentScreen() {
  return current;
}

export function focusCurrent() {
  const heading = $(current).querySelector("h1");
  if (heading && current !== "chat") { heading.tabIndex = -1; heading.focus(); }
  else if (current === "chat") $("message").focus();
}

export function show(id) {
  current = id;
  for (const section of SCREENS) {
    $(section).hidden = section !== id && !(id === "waiting" && section === "chat");
  }
  focusCurrent();
}
