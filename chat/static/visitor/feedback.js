// The optional, anonymous "Did this chat help?" on the screen shown when a chat ends: one tap,
// counted by the server as a number per day and answer, never linked to the chat.

const $ = (id) => document.getElementById(id);

export function askFeedback(request, done) {
  const group = $("feedback");
  if (!group) { done(); return; }
  group.hidden = false;
  const buttons = [...group.querySelectorAll("button[data-answer]")];
  for (const button of buttons) {
    button.disabled = false;
    button.onclick = async () => {
      for (const each of buttons) each.disabled = true;
      try {
        await request("feedback", { answer: button.dataset.answer });
        $("feedback-thanks").hidden = false;
        $("feedback-thanks").focus();
      } catch {
        // Optional: when it cannot be counted (offline, already answered) the question just goes.
      }
      group.hidden = true;
      done();
    };
  }
}
