// The visitor's chat, as a page of its own or inside the frame that widget.js opens.
// Keeps nothing on the device: the session token lives in this page's memory (sessionStorage
// only if the deployment opts in), and quick exit throws everything away.
//
// The page is a module for each screen around `state.js` (the state and which screen shows)
// and `connection.js` (the socket): notice.js (notice and staying safe), triage.js, options.js
// with directory.js, waiting.js, conversation.js (the chat), ended.js (ended, closed, refused)
// and exit.js (quick exit). Each wires its own controls when loaded; this one decides the screen
// from the hello and connects.
import { greetedResolve, socket } from "./connection.js";
import { sendMessage } from "./conversation.js";
import { finish, refuse, showClosed } from "./ended.js";
import "./exit.js";
import "./notice.js";
import "./options.js";
import { $, setToken, show, state } from "./state.js";
import { applyStatus } from "./waiting.js";

// A hello refused gets no "connected" (`unavailable` is shown from the refusal).
socket.on("connected", (hello) => {
  $("connection").hidden = true;
  if (hello.token) setToken(hello.token);
  state.hours = hello.service.hours;
  greetedResolve(hello);
  if (hello.conversation_id) {
    state.conversationId = hello.conversation_id;
    if (hello.status) applyStatus(hello.status);
    for (const [clientMsgId, text] of state.unsent) sendMessage(text, clientMsgId);
  } else if (state.conversationId) {
    finish(); // the conversation ended while we were away
  } else if (hello.service.paused) {
    refuse(hello.service.message);
  } else if (!hello.service.hours.open) {
    showClosed();
  }
});

show("notice");
socket.connect();
// Every control of the page now answers. A click before this (on a slow phone, the page drawn before its
// script ran) did nothing; tests wait for this mark before they click.
document.documentElement.dataset.ready = "true";
