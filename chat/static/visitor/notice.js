// The first screen: once, what quick exit does and does not do, the language, and "Staying
// safe online", which opens inside the chat, never in a tab of its own.
import { $, show } from "./screens.js";
import { startTriage } from "./triage.js";

$("notice-ok").addEventListener("click", startTriage);
$("show-safety").addEventListener("click", () => show("safety"));
$("safety-back").addEventListener("click", () => { show("notice"); $("show-safety").focus(); });
$("ui-language").addEventListener("change", (event) => {
  // Before any chat starts, so nothing is lost: reload the page worded in the chosen language.
  const url = new URL(window.location.href);
  url.searchParams.set("lang", event.target.value);
  window.location.replace(url.toString());
});
