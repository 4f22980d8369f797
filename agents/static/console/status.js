// The Status menu in every staff page's header. The server holds the one value: the page shows
// it as served, the live consoles keep it current over their socket (advisor.js, supervisor.js),
// and on the pages without a socket (reports, referrals) a change is saved here at once.

const form = document.getElementById("status-form");
const select = document.getElementById("availability");
const note = document.getElementById("status-note");
const live = Boolean(document.getElementById("console"));
const LABELS = { on_shift: "On shift", away: "Away", off_shift: "Off shift" };

document.getElementById("status-save").hidden = true;
let shown = select.value;

function headers() {
  return { Accept: "application/json", "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value };
}

async function refresh() {
  try {
    const response = await fetch(form.action, { headers: { Accept: "application/json" }, cache: "no-store" });
    if (response.ok) shown = select.value = (await response.json()).availability;
  } catch {
    // Offline: the menu keeps the last value the server gave.
  }
}

if (!live) {
  form.addEventListener("submit", (event) => event.preventDefault());
  select.addEventListener("change", async () => {
    note.textContent = "";
    try {
      const response = await fetch(form.action, { method: "POST", body: new FormData(form), headers: headers() });
      if (!response.ok) throw new Error(String(response.status));
      shown = select.value = (await response.json()).availability;
      note.textContent = `Saved: ${LABELS[shown]}.`;
    } catch {
      select.value = shown;
      note.textContent = "Not saved. Check your connection and try again.";
    }
  });
  // Changed in another tab meanwhile: show the server's value again when this page is seen.
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") refresh(); });
  window.addEventListener("pageshow", (event) => { if (event.persisted) refresh(); });
} else {
  form.addEventListener("submit", (event) => event.preventDefault());
}
