// The checklist's questions: "before you ask", the blocks that are open (core; children, stalking
// and honour-based abuse when the version's triggers or the advisor open them), each item with its
// answer, the details it asks for when the answer is yes, a source and a comment.

import { el } from "../../console/dom.js";
import { ANSWER, radios, remembered, tickGroup } from "./controls.js";

const BLOCK_TITLES = {
  core: "Core (scored)",
  children: "Children and dependants",
  stalking: "Stalking",
  honour: "Honour-based abuse",
};

function answer(a, key) {
  return a.answers[key] ? a.answers[key].value : null;
}

// The blocks to ask, in order, each as [name, items]. A follow-up block opens on a "yes" to any
// item the version names for it; children also open with the household box, honour-based abuse
// with the advisor's flag.
function openBlocks(a, def) {
  const triggered = (name) => (def.triggers[name] || []).some((key) => answer(a, key) === "yes");
  const open = {
    children: a.has_children || triggered("children"),
    stalking: triggered("stalking"),
    honour: a.honour_flag || triggered("honour"),
  };
  return [["core", def.core], ...Object.keys(open).filter((name) => open[name]).map((name) => [name, def[name]])];
}

// What a "yes" to this item opens, to say so beside it.
function opens(def, key) {
  return Object.entries(def.triggers).filter(([, keys]) => keys.includes(key)).map(([name]) => BLOCK_TITLES[name] || name);
}

export function beforeYouAsk(ui, a, def) {
  const open = Object.keys(a.before_you_ask).length < def.before_you_ask.length;
  const box = remembered(ui, `${ui.prefix}-bya`, open, "Before you ask");
  for (const item of def.before_you_ask) {
    box.append(el("label", { class: "checkline" },
      el("input", { type: "checkbox", id: `${ui.prefix}-bya-${item.key}`, checked: Boolean(a.before_you_ask[item.key]),
        onchange: (e) => ui.save({ before_you_ask: { [item.key]: e.target.checked } }) }),
      ` ${item.question}`));
  }
  return box;
}

// The whole answer as it will be stored, read from the item as the advisor sees it (a change made
// while an earlier save is on its way is not undone by it): the patch replaces an item's answer, so
// what is not changed goes along. Details ("ticks") only on items that ask for them, with a yes.
function answerPatch(box, item, changes) {
  const chosen = box.querySelector(`input[name="${box.id}-a"]:checked`);
  const ticked = [...box.querySelectorAll(`#${box.id}-ticks input:checked`)].map((input) => input.value);
  const body = { value: chosen ? chosen.value : null, source: box.querySelector(`#${box.id}-s`).value,
    comment: box.querySelector(`#${box.id}-c`).value, ...changes };
  if (item.ticks && item.ticks.length && body.value === "yes") body.ticks = changes.ticks || ticked;
  return { answers: { [item.key]: body } };
}

function question(ui, a, def, item) {
  const base = `${ui.prefix}-q-${item.key}`;
  const stored = a.answers[item.key] || {};
  const current = stored.value || null;
  const box = el("fieldset", { class: "checklist-item", id: base, "data-key": item.key },
    el("legend", { text: `${item.label}${current ? "" : " (not asked)"}` }),
    el("p", { class: "q", text: item.question }),
    radios({ id: `${base}-a`, options: ANSWER, value: current,
      onchange: (value) => ui.save(answerPatch(box, item, { value }), { at: base }) }),
  );
  if (current === "yes" && item.ticks && item.ticks.length) {
    box.append(tickGroup({ id: `${base}-ticks`, legend: "Tick which apply", options: item.ticks, selected: stored.ticks,
      onchange: (ticks) => ui.save(answerPatch(box, item, { ticks }), { at: `${base}-ticks` }) }));
  }
  const follow = current === "yes" ? opens(def, item.key) : [];
  if (follow.length) box.append(el("p", { class: "hint", text: `Opens the ${follow.join(" and ").toLowerCase()} questions.` }));
  const source = el("input", { id: `${base}-s`, maxlength: "200", value: stored.source || "" });
  const comment = el("input", { id: `${base}-c`, maxlength: "2000", value: stored.comment || "" });
  for (const input of [source, comment]) {
    input.addEventListener("change", () => ui.save(answerPatch(box, item, {}), { at: base, control: input }));
  }
  const details = remembered(ui, `${base}-more`, Boolean(stored.source || stored.comment), "Source and comment");
  details.append(
    el("label", { for: source.id, text: "Source, if not the visitor" }), source,
    el("label", { for: comment.id, text: "Comment" }), comment);
  box.append(details);
  return box;
}

function flags(ui, a) {
  const flag = (key, label) => el("label", { class: "inline" },
    el("input", { type: "checkbox", id: `${ui.prefix}-${key}`, checked: a[key],
      onchange: (e) => ui.save({ [key]: e.target.checked }) }), ` ${label}`);
  return el("div", { class: "flags" },
    flag("has_children", "Children in the household"),
    flag("honour_flag", "Concern about honour-based abuse"));
}

// The open blocks as one list under their headings, or one item at a time.
export function itemsBox(ui, a, def) {
  const all = openBlocks(a, def).flatMap(([name, list]) => list.map((item) => ({ item, block: BLOCK_TITLES[name] || name })));
  const box = el("div", { class: "items", id: `${ui.prefix}-items` }, flags(ui, a));
  if (ui.oneAtATime) {
    ui.index = Math.min(ui.index, all.length - 1);
    const { item, block } = all[ui.index];
    const step = (by) => {
      ui.index += by;
      // Keep the keyboard on the button pressed, or on the other one at either end.
      const end = by > 0 ? ui.index === all.length - 1 : ui.index === 0;
      ui.focusNext = `${ui.prefix}-${(by > 0) !== end ? "next" : "prev"}`;
      ui.rerender();
    };
    box.append(
      el("p", { class: "hint", text: `${ui.index + 1} of ${all.length} · ${block}` }),
      question(ui, a, def, item),
      el("div", { class: "actions" },
        el("button", { type: "button", id: `${ui.prefix}-prev`, text: "Previous", disabled: ui.index === 0, onclick: () => step(-1) }),
        el("button", { type: "button", id: `${ui.prefix}-next`, text: "Next", disabled: ui.index === all.length - 1, onclick: () => step(1) })),
    );
    return box;
  }
  let current = "";
  for (const { item, block } of all) {
    if (block !== current) { current = block; box.append(el("h4", { text: block })); }
    box.append(question(ui, a, def, item));
  }
  return box;
}
