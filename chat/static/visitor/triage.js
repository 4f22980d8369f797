// Triage: the questions come from the server (staff edit them), rendered as they come; the
// emergency number shows under the question that can call for it; a required question left out
// is said inside it. The answers lead to the options screen, with the directory for the region.
import { greeted, request } from "./connection.js";
import { loadDirectory } from "./directory.js";
import { $, CONFIG, T, say, show, state } from "./state.js";

export async function startTriage() {
  await greeted;
  if (!state.flow) {
    try {
      state.flow = await request("triage.flow", { language: CONFIG.language });
    } catch {
      $("triage-error").textContent = T.try_again;
      $("triage-error").hidden = false;
      show("triage");
      return;
    }
    renderQuestions(state.flow.questions);
  }
  show("triage");
}

function renderQuestions(questions) {
  const container = $("questions");
  container.replaceChildren();
  for (const question of questions) {
    const fieldset = document.createElement("fieldset");
    fieldset.dataset.key = question.key;
    const legend = document.createElement("legend");
    legend.textContent = question.prompt;
    fieldset.append(legend);
    if (question.help_text) {
      const help = document.createElement("p");
      help.className = "hint";
      help.id = `help-${question.key}`;
      help.textContent = question.help_text;
      fieldset.setAttribute("aria-describedby", help.id);
      fieldset.append(help);
    }
    const inputs = document.createElement("div");
    inputs.className = question.options.length > 6 ? "options columns" : "options";
    for (const option of question.options) {
      const label = document.createElement("label");
      const input = document.createElement("input");
      input.type = question.multiple ? "checkbox" : "radio";
      input.name = question.key;
      input.value = option.value;
      if (option.emergency) input.dataset.emergency = "1";
      if (question.role === "language" && option.value === CONFIG.language) input.checked = true;
      label.append(input, ` ${option.label}`);
      if (question.role === "language") label.lang = option.value;
      inputs.append(label);
    }
    fieldset.append(inputs);
    container.append(fieldset);
    // The emergency number shows right under the question that can call for it.
    if (question.options.some((o) => o.emergency)) container.append($("danger-help"));
  }
}

export function clearAnswerError() {
  const error = $("triage-error");
  error.hidden = true;
  $("triage-form").querySelector("button[type=submit]").before(error);
  for (const input of document.querySelectorAll("#questions [aria-describedby='triage-error']")) input.removeAttribute("aria-describedby");
  for (const fieldset of document.querySelectorAll("#questions fieldset.invalid")) fieldset.classList.remove("invalid");
}

$("questions").addEventListener("change", () => {
  const danger = document.querySelector("#questions input[data-emergency]:checked");
  $("danger-help").hidden = !danger;
});

function collectAnswers() {
  const answers = {};
  for (const question of state.flow.questions) {
    const chosen = [...document.querySelectorAll(`#questions input[name="${CSS.escape(question.key)}"]:checked`)].map((i) => i.value);
    if (question.multiple) { if (chosen.length) answers[question.key] = chosen; }
    else if (chosen.length) answers[question.key] = chosen[0];
    else if (question.required) return { missing: question };
  }
  return { answers };
}

$("triage-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const { answers, missing } = collectAnswers();
  clearAnswerError();
  if (missing) {
    // Shown inside the question, and read out with the answer that takes the focus.
    const fieldset = document.querySelector(`#questions fieldset[data-key="${CSS.escape(missing.key)}"]`);
    const error = $("triage-error");
    error.textContent = say(T.required, { question: missing.prompt });
    error.hidden = false;
    fieldset.querySelector("legend").after(error);
    fieldset.classList.add("invalid");
    for (const input of fieldset.querySelectorAll("input")) input.setAttribute("aria-describedby", "triage-error");
    fieldset.querySelector("input").focus();
    return;
  }
  state.answers = answers;
  const region = state.flow.questions.find((q) => q.role === "region");
  show("options");
  loadDirectory(region ? answers[region.key] || null : null);
});
