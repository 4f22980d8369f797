// The end-of-chat record in the "End this chat" dialog: services given, referrals and
// signposting (several each), and what the visitor chose to say about themselves. Made for the
// keyboard: Tab moves between groups, arrow keys within one, a letter jumps to the next choice
// starting with it, Space ticks, Enter ends the chat. Saved after the chat has ended; if saving
// fails, nothing typed is lost: the advisor is offered to save it again.
import { el } from "./dom.js";
import { call } from "./http.js";

let options = null;
let section = null;

// One group of checkboxes with a single tab stop; arrows and first letters move within it.
function checkGroup(name, legend, items) {
  const boxes = [];
  const group = el("fieldset", { class: "record-group", id: `record-${name}` }, el("legend", { text: legend }));
  for (const item of items) {
    const box = el("input", { type: "checkbox", name, value: item.value, id: `record-${name}-${item.value}`, tabindex: "-1" });
    boxes.push(box);
    const text = item.directory ? `${item.label} (${item.directory})` : item.label;
    group.append(el("label", { class: "record-choice", for: box.id }, box, el("span", { text })));
  }
  if (boxes.length) boxes[0].tabIndex = 0;
  group.addEventListener("keydown", (event) => {
    const at = boxes.indexOf(event.target);
    if (at < 0) return;
    let next = -1;
    if (event.key === "ArrowDown" || event.key === "ArrowRight") next = (at + 1) % boxes.length;
    else if (event.key === "ArrowUp" || event.key === "ArrowLeft") next = (at - 1 + boxes.length) % boxes.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = boxes.length - 1;
    else if (event.key.length === 1 && /\S/.test(event.key) && !event.ctrlKey && !event.metaKey && !event.altKey) {
      const letter = event.key.toLowerCase();
      for (let step = 1; step <= boxes.length; step += 1) {
        const candidate = (at + step) % boxes.length;
        if (boxes[candidate].labels[0].textContent.trim().toLowerCase().startsWith(letter)) { next = candidate; break; }
      }
    }
    if (next < 0) return;
    event.preventDefault();
    boxes[at].tabIndex = -1;
    boxes[next].tabIndex = 0;
    boxes[next].focus();
  });
  return group;
}

function radioGroup(name, legend, items) {
  const group = el("fieldset", { class: "record-group record-radios", id: `record-${name}` }, el("legend", { text: legend }));
  for (const item of [{ value: "", label: "Not said" }, ...items]) {
    const radio = el("input", { type: "radio", name, value: item.value, id: `record-${name}-${item.value || "none"}`, checked: item.value === "" });
    group.append(el("label", { class: "record-choice", for: radio.id }, radio, el("span", { text: item.label })));
  }
  return group;
}

function build(dialog) {
  section = el("section", { class: "record", "aria-labelledby": "record-title" },
    el("h3", { id: "record-title", text: "For the helpline's figures (optional)" }),
    el("p", { class: "hint", id: "record-keys",
      text: "Tab between groups, arrow keys or a first letter within one, Space to tick, Enter to end the chat." }),
    checkGroup("services", "Services given", options.services),
    checkGroup("referrals", "Referred or signposted to", options.referrals),
    el("p", { class: "hint", text: "Only what the visitor chose to say. Never ask just for this." }),
    radioGroup("gender", "Gender", options.genders),
    radioGroup("age_band", "Age band", options.age_bands),
    radioGroup("said_returning", "Had they contacted the helpline before?", options.said_returning),
  );
  section.setAttribute("aria-describedby", "record-keys");
  section.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.target.tagName !== "INPUT") return;
    event.preventDefault();
    dialog.querySelector("#end-confirm").click();
  });
  dialog.querySelector(".actions").before(section);
}

// Before the dialog opens for a chat: load the choices once, and clear the last chat's record.
export async function prepareRecord(dialog) {
  try {
    if (!options) options = await call("GET", "/console/api/record-options/");
  } catch {
    return; // the chat can still be ended; the figures simply are not recorded
  }
  if (!section) build(dialog);
  for (const input of section.querySelectorAll("input")) input.checked = input.type === "radio" && input.value === "";
}

// What the dialog holds now, read before the dialog can be reused for another chat.
export function readRecord() {
  if (!section) return null;
  const ticked = (name) => [...section.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
  const said = (name) => (section.querySelector(`input[name=${name}]:checked`) || { value: "" }).value;
  const record = {
    services: ticked("services"),
    referrals: ticked("referrals"),
    gender: said("gender"),
    age_band: said("age_band"),
    said_returning: said("said_returning"),
  };
  const empty = !record.services.length && !record.referrals.length && !record.gender && !record.age_band && !record.said_returning;
  return empty ? null : record;
}

export async function saveRecord(conversationId, record, notices) {
  if (!record) return;
  try {
    await call("POST", `/console/api/conversations/${conversationId}/record/`, record);
    const done = el("p", { class: "notice", role: "status", text: "The chat's figures were saved." });
    notices.append(done);
    setTimeout(() => done.remove(), 6000);
  } catch (error) {
    const box = el("div", { class: "notice record-failed", role: "alert" },
      el("p", { text: `The chat ended, but its figures were not saved: ${error.message}` }));
    box.append(el("button", { type: "button", text: "Save the figures again", onclick: () => { box.remove(); saveRecord(conversationId, record, notices); } }),
      el("button", { type: "button", text: "Discard them", onclick: () => box.remove() }));
    notices.append(box);
    box.querySelector("button").focus();
  }
}
