// The screens where no chat goes on: ended (with the feedback question), closed (the opening
// hours) and refused (paused, or this visitor blocked), each with the ways to get help.
import { greetedResolve, request, socket } from "./connection.js";
import { loadDirectory } from "./directory.js";
import { askFeedback } from "./feedback.js";
import { $, CONFIG, T, currentScreen, say, setToken, show, state } from "./state.js";

export function finish() {
  if (state.ended) return;
  state.ended = true;
  setToken(null);
  state.unsent.clear();
  show("ended");
  $("chat").hidden = false;
  $("composer").hidden = true;
  // The socket stays open for the optional feedback question, then closes.
  askFeedback(request, () => socket.close());
}

socket.on("refused", (error) => { if (error.code === "unavailable") unavailable(); });

// Staff blocked this visitor (or their connection): said neutrally, with the other ways to get help.
function unavailable() {
  if (currentScreen() === "refused" && state.ended) return;
  state.ended = true;
  setToken(null);
  state.unsent.clear();
  $("transcript").replaceChildren();
  $("connection").hidden = true;
  greetedResolve(null); // the directory needs no hello: the socket stays open for it
  refuse(T.unavailable);
}

export function refuse(message) {
  $("refused-message").textContent = message;
  show("refused");
  loadDirectory(null);
}

export function showClosed() {
  const hours = state.hours;
  const table = $("hours-table");
  table.replaceChildren();
  for (const day of hours.week) {
    const row = document.createElement("tr");
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = day.name;
    const times = document.createElement("td");
    times.textContent = day.hours.join(", ");
    row.append(name, times);
    table.append(row);
  }
  if (hours.next_open) {
    const when = new Intl.DateTimeFormat(CONFIG.language, {
      weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
      timeZone: hours.time_zone,
    }).format(new Date(hours.next_open));
    $("next-open").textContent = say(T.next_open, { when });
  }
  show("closed");
  loadDirectory(null);
}
