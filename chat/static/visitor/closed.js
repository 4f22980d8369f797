// Out of hours: the opening hours, when the service opens next, and the lines open now. Nobody
// is queued.
import { loadDirectory } from "./directory.js";
import { $, show } from "./screens.js";
import { CONFIG, T, say, state } from "./state.js";

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
