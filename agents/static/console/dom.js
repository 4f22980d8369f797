// Small DOM helpers. Text from visitors and staff only ever goes in through textContent.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Characters that change the direction text is shown in without being seen themselves: a
// message holding them may display in another order than it was written.
const BIDI_CONTROLS = {
  "\u061C": "ALM", "\u200E": "LRM", "\u200F": "RLM", "\u202A": "LRE", "\u202B": "RLE", "\u202C": "PDF",
  "\u202D": "LRO", "\u202E": "RLO", "\u2066": "LRI", "\u2067": "RLI", "\u2068": "FSI", "\u2069": "PDI",
};
const BIDI_PATTERN = new RegExp(`[${Object.keys(BIDI_CONTROLS).join("")}]`, "g");

export function bidiControls(text) {
  const found = new Set((String(text || "").match(BIDI_PATTERN) || []).map((ch) => BIDI_CONTROLS[ch]));
  return [...found];
}

// A run of digits with spaces or dashes (a phone number) inside right-to-left words would be
// drawn in reverse order ("247 2000 0808"): each such run is isolated, left to right.
const NUMBER_RUN = /\+?\d[\d\s().-]*\d/g;
export function withNumbersIsolated(node, text) {
  let last = 0;
  for (const match of String(text).matchAll(NUMBER_RUN)) {
    if (!/[\s().-]/.test(match[0])) continue;
    node.append(text.slice(last, match.index), el("bdi", { dir: "ltr", text: match[0] }));
    last = match.index + match[0].length;
  }
  node.append(String(text).slice(last));
  return node;
}

export function minutesSince(iso) {
  if (!iso) return 0;
  return Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 60000));
}

export function waitLabel(iso) {
  const minutes = minutesSince(iso);
  return minutes < 1 ? "under a minute" : `${minutes} min`;
}

export function timeLabel(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export const ABOUT = {
  myself: "Themselves",
  someone_i_know: "Someone they know",
  own_behaviour: "Worried about own behaviour",
  professional: "A professional",
};

const LANGUAGE_NAMES = new Intl.DisplayNames(["en-GB"], { type: "language", fallback: "none" });

// A language's name as staff know it ("Welsh"), with the code kept for anyone who needs it.
export function languageName(code) {
  let name = null;
  try { name = LANGUAGE_NAMES.of(code); } catch { /* not a language code */ }
  return name && name !== code ? `${name} (${code})` : code;
}

// The staff's wording of an answer: from the triage's summary (a conversation) or its labels
// (a queue entry), never the stored code when a name is known.
function answerLabel(triage, role) {
  if (triage.labels && triage.labels[role]) return triage.labels[role];
  const item = (triage.summary || []).find((i) => i.role === role);
  return item ? item.answer : null;
}

export function triageRows(triage) {
  if (!triage || !Object.keys(triage).length) return [["Triage", "Not completed"]];
  const rows = [];
  rows.push(["In danger now", triage.in_danger ? "Yes" : "No"]);
  rows.push(["Safe to talk", triage.safe_to_talk === false ? "No" : "Yes"]);
  if (triage.about) rows.push(["About", ABOUT[triage.about] || answerLabel(triage, "about") || triage.about]);
  if (triage.language) rows.push(["Language", languageName(triage.language)]);
  if (triage.region) rows.push(["Region", answerLabel(triage, "region") || triage.region]);
  if (triage.help && triage.help.length) {
    rows.push(["Help wanted", answerLabel(triage, "help") || triage.help.join(", ").replaceAll("_", " ")]);
  }
  // Questions staff added to the flow in the admin, worded as the visitor read them.
  for (const item of triage.summary || []) if (item.role === "other") rows.push([item.question, item.answer]);
  return rows;
}

export function beep() {
  try {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 660;
    gain.gain.value = 0.05;
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.15);
  } catch {
    // Sound is optional.
  }
}
