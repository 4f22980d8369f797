// The visitor's chat, as a page of its own or inside the frame that widget.js opens. Each screen
// is a module of its own; this one ties them to the socket. What the chat remembers is in
// state.js, only in this page's memory, and quick exit (leave.js) throws all of it away.
import "./leave.js"; // first: quick exit works even if anything after it fails
import { showClosed } from "./closed.js";
import { greetedWith, resetGreeting, socket } from "./connection.js";
import { resendUnsent, showEntry, showRead, showTyping } from "./conversation.js";
import { finish } from "./ended.js";
import "./notice.js";
import "./options.js";
import { refuse, unavailable } from "./refused.js";
import { $, show } from "./screens.js";
import { setToken, state } from "./state.js";
import { applyStatus } from "./status.js";

socket.on("hello", (hello) => {
  $("connection").hidden = true;
  if (hello.token) setToken(hello.token);
  state.hours = hello.service.hours;
  greetedWith(hello);
  if (hello.conversation_id) {
    state.conversationId = hello.conversation_id;
    if (hello.status) applyStatus(hello.status);
    resendUnsent();
  } else if (state.conversationId) {
    finish(); // the conversation ended while we were away
  } else if (hello.service.paused) {
    refuse(hello.service.message);
  } else if (!hello.service.hours.open) {
    showClosed();
  }
});

socket.on("close", (event) => {
  resetGreeting();
  if (event.code === 4001 || event.code === 4002) setToken(null);
  if (state.ended) return;
  $("connection").hidden = false;
  socket.reconnectLater();
});

// Staff blocked this visitor: told at hello, at a start, or at any moment of the chat.
socket.on("error", (error) => { if (error.code === "unavailable") unavailable(); });
socket.on("entry", showEntry);
socket.on("status", applyStatus);
socket.on("receipt", showRead);
socket.on("typing", showTyping);

show("notice");
socket.connect();
