// Blocking an abusive or automated visitor (the advisor holding the chat, or a supervisor), and
// the supervisors' review of blocks with an early lift. Everything goes through the staff socket
// (`visitor.block`, `blocks.list`, `block.lift`); the server checks who may do what.
import { el } from "./dom.js";

const $ = (id) => document.getElementById(id);
const when = (iso) => new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
const STATE = { active: "In force", lifted: "Lifted", expired: "Expired" };

// Asks for the time and reason, then blocks; resolves with the block, or null when cancelled.
export function blockVisitor(socket, conversationId) {
  const dialog = $("block-dialog");
  $("block-note").value = "";
  $("block-error").hidden = true;
  $("block-connection").checked = false;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    const form = $("block-form");
    const submit = async (event) => {
      if (event.submitter?.value !== "confirm") { resolve(null); return; }
      event.preventDefault(); // stays open until the server has answered
      const reason = $("block-reason").value;
      const note = $("block-note").value.trim();
      if (reason === "other" && !note) {
        showError("Say why in the note when the reason is Other.");
        $("block-note").focus();
        return;
      }
      try {
        const { block } = await socket.request("visitor.block", {
          conversation_id: conversationId,
          hours: Number($("block-hours").value),
          reason,
          note,
          connection: $("block-connection").checked,
        });
        form.removeEventListener("submit", submit);
        dialog.close("done");
        resolve(block);
      } catch (error) {
        showError(`Not blocked: ${error.message}`);
      }
    };
    form.addEventListener("submit", submit);
    dialog.addEventListener("close", () => { form.removeEventListener("submit", submit); resolve(null); }, { once: true });
  });
}

for (const id of ["block-reason", "block-note"]) {
  $(id)?.addEventListener("input", () => { $("block-error").hidden = true; });
}

function showError(text) {
  $("block-error").textContent = text;
  $("block-error").hidden = false;
}

export function blockedNotice(block) {
  const until = when(block.expires_at);
  return `Visitor blocked until ${until}${block.connection ? " (their connection for at most 24 hours)" : ""}. A supervisor will review it.`;
}

// Supervisors: the list of blocks in `tbody`, refreshed on demand, with a Lift button on those in force.
export function blockReview(socket, tbody, empty, notify) {
  async function refresh() {
    const { blocks } = await socket.request("blocks.list");
    empty.hidden = blocks.length > 0;
    tbody.replaceChildren(...blocks.map((b) => {
      const lift = b.state === "active"
        ? el("button", { type: "button", text: "Lift", "aria-label": `Lift block ${b.block_id}`, onclick: () => liftBlock(b) })
        : null;
      const ended = b.state === "lifted" ? `Lifted ${when(b.lifted_at)} by ${b.lifted_by}${b.lift_note ? `: ${b.lift_note}` : ""}` : "";
      return el("tr", { "data-block": b.block_id },
        el("th", { scope: "row", text: when(b.created_at) }),
        el("td", { text: b.created_by }),
        el("td", { text: `${b.reason_label}${b.note ? `: ${b.note}` : ""}` }),
        el("td", { text: `${b.hours} h${b.connection ? " + connection" : ""}` }),
        el("td", { text: b.state === "active" ? `${STATE.active} until ${when(b.expires_at)}` : ended || STATE[b.state] }),
        el("td", {}, lift));
    }));
  }

  function liftBlock(block) {
    const dialog = $("lift-dialog");
    $("lift-summary").textContent = `${block.reason_label}, by ${block.created_by} on ${when(block.created_at)}, in force until ${when(block.expires_at)}.`;
    $("lift-note").value = "";
    dialog.returnValue = "";
    dialog.showModal();
    dialog.addEventListener("close", async () => {
      if (dialog.returnValue !== "confirm") return;
      try {
        await socket.request("block.lift", { block_id: block.block_id, note: $("lift-note").value.trim() });
        notify("Block lifted.");
      } catch (error) { notify(`Not lifted: ${error.message}`); }
      await refresh();
    }, { once: true });
  }

  return refresh;
}
