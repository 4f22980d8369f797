// Options, after triage: talk to an advisor (starts the chat and sends the answers), go back
// to the questions, or leave with the directory's information on screen.
import { request } from "./connection.js";
import { refuse, showClosed } from "./ended.js";
import { $, CONFIG, T, plain, show, state } from "./state.js";
import { clearAnswerError } from "./triage.js";
import { applyStatus } from "./waiting.js";

$("talk").addEventListener("click", async () => {
  $("start-error").hidden = true;
  try {
    if (!state.conversationId) { // started already when a first try was refused
      const started = await request("conversation.start", { language: state.answers.language || CONFIG.language });
      state.conversationId = started.conversation_id; // its log starts at 1, tracked by its id
    }
    const result = await request("triage.submit", { answers: state.answers });
    applyStatus(result.status);
  } catch (error) {
    if (error.code === "paused") refuse(error.message);
    else if (error.code === "closed") showClosed();
    else if (error.code === "invalid" || error.code === "triage_incomplete") {
      // An answer was refused (or the questions changed meanwhile): back to them, in plain words.
      clearAnswerError();
      show("triage");
      $("triage-error").textContent = T.error_answers;
      $("triage-error").hidden = false;
    } else { $("start-error").textContent = plain(error); $("start-error").hidden = false; }
  }
});
$("back-to-questions").addEventListener("click", () => {
  clearAnswerError();
  show("triage");
});
$("leave-with-info").addEventListener("click", () => {
  // No chat is started; the information stays on screen for as long as they want it, and
  // "Talk to an advisor" stays, should they change their mind.
  $("leave-with-info").hidden = true;
  $("left-note").hidden = false;
  $("left-note").focus();
});
