// Our pages other than the chat (the staying-safe page): the same "Leave this site" button and
// Shift rule as the chat, going to the exit the deployment configured.
import { shiftRule, showCount } from "./quickexit.js";

const CONFIG = JSON.parse(document.getElementById("widget-config").textContent);
let leaving = false;
function leave() {
  if (leaving) return;
  leaving = true;
  document.body.replaceChildren();
  document.title = "";
  window.location.replace(CONFIG.exitUrl);
}
document.getElementById("quick-exit").addEventListener("click", leave);
const count = document.getElementById("exit-count");
shiftRule({ onCount: (remaining) => showCount(count, CONFIG.strings, remaining), onExit: leave });
