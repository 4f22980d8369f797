// The first screens: the notice (quick exit and what it cannot erase, the language) and the
// staying-safe page, shown inside the chat.
import { $, show } from "./state.js";
import { startTriage } from "./triage.js";

$("notice-ok").addEventListener("click", startTriage);
// Our own pages open inside the chat, never in a tab of their own.
$("show-safety").addEventListener("click", () => show("safety"));
$("safety-back").addEventListener("click", () => { show("notice"); $("show-safety").focus(); });
$("ui-language").addEventListener("change", (event) => {
  // Before any chat starts, so nothing is lost: reload the page worded in the chosen language.
  const url = new URL(window.location.href);
  url.searchParams.set("lang", event.target.value);
  window.location.replace(url.toString());
});
