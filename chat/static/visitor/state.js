// Everything the visitor's chat remembers, in one place, and only in this page's memory: the
// session token (in sessionStorage too only if the deployment opts in), and quick exit throws
// all of it away. The screens read and change it; the socket keeps its own requests and seqs.

export const CONFIG = JSON.parse(document.getElementById("widget-config").textContent);
export const T = CONFIG.strings;
const TOKEN_KEY = "chat-resume";

export const state = {
  token: CONFIG.keepToken ? sessionStorage.getItem(TOKEN_KEY) : null,
  conversationId: null,
  unsent: new Map(), // client_msg_id -> text, resent after a reconnect
  screen: "notice",
  ended: false,
  leaving: false, // quick exit under way: nothing more is shown or sent
  flow: null, // the triage questions, as the server sent them
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

// Drops the chat itself (the token and what was waiting to be sent), as its end and quick exit do.
export function forgetChat() {
  setToken(null);
  state.unsent.clear();
}

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
