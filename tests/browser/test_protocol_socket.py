"""The protocol socket that the visitor's page and the consoles share (agents/static/visitor/
protocol.js), in Chromium against the live server. Every socket passes through a route that
forwards each frame, so a test can lose one on the way, as a network or the layer would."""

import json
import re
from typing import Any

from playwright.sync_api import expect

from tests.support.console import Staff, close_open_chats, on_shift, sign_in
from tests.support.live import LiveServer


class Wire:
    """Every socket of a page matching `path`, frame by frame: kept, forwarded, or lost when the
    test asks (`lose_next` drops the next frame from the server that matches)."""

    def __init__(self, page: Any, path: str) -> None:
        self.sockets: list[tuple[Any, Any]] = []
        self.sent: list[dict[str, Any]] = []  # page to server
        self.lost: list[dict[str, Any]] = []
        self.losing: list[dict[str, Any]] = []
        page.route_web_socket(re.compile(f"{re.escape(path)}$"), self._through)

    def _through(self, route: Any) -> None:
        server = route.connect_to_server()
        self.sockets.append((route, server))

        def up(message: str | bytes) -> None:
            self.sent.append(json.loads(message))
            server.send(message)

        def down(message: str | bytes) -> None:
            frame = json.loads(message)
            for match in self.losing:
                if all(frame.get(key) == value for key, value in match.items()):
                    self.losing.remove(match)
                    self.lost.append(frame)
                    return
            route.send(message)

        route.on_message(up)
        server.on_message(down)

    def lose_next(self, **match: Any) -> None:
        self.losing.append(match)

    def cut(self, code: int) -> None:
        """The latest socket closes on the page's side with `code`, as if the server closed it."""
        route, server = self.sockets[-1]
        route.close(code=code, reason="cut")
        server.close()


def test_an_entry_lost_on_the_way_is_asked_for_again_on_both_sides(server: LiveServer, browser: Any) -> None:
    close_open_chats(server)
    visitor = browser.new_context(viewport={"width": 360, "height": 740}).new_page()
    visitor_wire = Wire(visitor, "/ws/visitor/")
    visitor.goto(f"{server.url}/chat/")
    visitor.locator("html[data-ready]").wait_for(state="attached")
    visitor.get_by_role("button", name="I understand").click()
    visitor.get_by_role("group", name="Are you in danger right now?").get_by_label("Yes").check()
    visitor.get_by_role("group", name="Is it safe for you to chat now?").get_by_label("Yes").check()
    visitor.get_by_label("Me", exact=True).check()
    visitor.get_by_label("Housing or refuge").check()
    visitor.get_by_role("button", name="Next").click()
    visitor.get_by_role("button", name="Talk to an advisor").click()
    expect(visitor.locator("#position")).to_contain_text("You are number 1 in the queue")

    console = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    console_wire = Wire(console, "/ws/console/")
    sign_in(console, server, Staff(server, name="Kit"))
    on_shift(console)
    console.get_by_role("button", name="Take next chat").click()
    expect(visitor.locator("#transcript")).to_contain_text("You are now talking to Kit.")
    pane = console.locator(".chat-pane:not([hidden])")
    composer = pane.get_by_label("Message", exact=True)

    # The advisor's first message never reaches the visitor's page; the second shows the gap,
    # the page asks for what it missed (the visitor's `sync` has no conversation id) and shows
    # both, in order, once.
    visitor_wire.lose_next(type="entry", text="first from Kit")
    composer.fill("first from Kit")
    composer.press("Enter")
    expect(pane.locator(".transcript")).to_contain_text("first from Kit")
    composer.fill("second from Kit")
    composer.press("Enter")
    theirs = visitor.locator("#transcript li.theirs .text", has_text="from Kit")
    expect(theirs).to_have_text(["first from Kit", "second from Kit"])
    assert [frame["text"] for frame in visitor_wire.lost] == ["first from Kit"]
    syncs = [frame for frame in visitor_wire.sent if frame["type"] == "sync"]
    assert len(syncs) == 1 and set(syncs[0]) == {"type", "id", "last_seq"}

    # The same on the console's side, where `sync` names the conversation.
    console_wire.lose_next(type="entry", text="one from the visitor")
    message = visitor.get_by_label("Your message")
    message.fill("one from the visitor")
    message.press("Enter")
    expect(visitor.locator("#transcript li.mine .text")).to_have_text(["one from the visitor"])
    message.fill("two from the visitor")
    message.press("Enter")
    shown = pane.locator(".transcript .entry", has_text="from the visitor")
    expect(shown).to_have_count(2)
    expect(shown.nth(0)).to_contain_text("one from the visitor")
    expect(shown.nth(1)).to_contain_text("two from the visitor")
    assert [frame["text"] for frame in console_wire.lost] == ["one from the visitor"]
    syncs = [frame for frame in console_wire.sent if frame["type"] == "sync"]
    assert len(syncs) == 1 and syncs[0]["conversation_id"] == console_wire.lost[0]["conversation_id"]
    visitor.get_by_role("button", name="End chat").click()
    visitor.get_by_role("button", name="Yes, end the chat").click()
    expect(visitor.get_by_role("heading", name="The chat has ended")).to_be_visible()
    visitor.context.close()
    console.context.close()


# Opens a protocol socket named `name` in the page, through the module the pages load; its
# events go to `logs[name]`. `settled` turns a request's promise into [code, message], or
# ["ok", result].
OPEN_SOCKET = """async ({ name, options }) => {
  const { ProtocolSocket } = await import("/static/visitor/protocol.js");
  window.sockets ??= {};
  window.logs ??= {};
  window.settled = (promise) => promise.then((result) => ["ok", result], (error) => [error.code, error.message]);
  const log = [];
  const socket = new ProtocolSocket({
    path: "/ws/visitor/",
    idPrefix: `${name}-`,
    hello: () => ({ language: "en", ...(window.badToken ? { token: window.badToken } : {}) }),
    sync: (_conversationId, lastSeq) => ({ last_seq: lastSeq }),
    ...options,
  });
  for (const event of ["connected", "disconnected", "stopped", "refused"]) {
    socket.on(event, (detail) => log.push([event, event === "connected" ? "" : detail]));
  }
  socket.on("disconnected", ({ code }) => { if (code === 4001) window.badToken = null; });
  window.sockets[name] = socket;
  window.logs[name] = log;
  const early = await window.settled(socket.request("triage.flow", { language: "en" }));
  socket.connect();
  return early;
}"""
FLOW = "settled(sockets.a.request('triage.flow', { language: 'en' }))"


def test_requests_settle_once_whatever_happens_to_the_socket(server: LiveServer, page: Any) -> None:
    wire = Wire(page, "/ws/visitor/")
    page.goto(f"{server.url}/staying-safe/")  # a page of ours with no socket of its own

    # Before the socket is open a request is refused at once, as "offline".
    early = page.evaluate(OPEN_SOCKET, {"name": "a", "options": {"replyTimeoutMs": 1500}})
    assert early == ["offline", "connection lost"]
    page.wait_for_function("() => sockets.a.ready")

    # A reply settles the request that has its id; a refusal rejects it with the server's code
    # and is told to the page.
    flow = page.evaluate(FLOW)
    assert flow[0] == "ok" and flow[1]["questions"]
    refused = page.evaluate("settled(sockets.a.request('directory.lookup', { region: 'atlantis', language: 'en' }))")
    assert refused[0] == "unknown_region"
    assert ["refused", {"code": "unknown_region", "message": refused[1]}] in page.evaluate("logs.a")

    # A reply lost on the way: the request gives up after the timeout, and nothing stays waiting.
    wire.lose_next(type="reply", id=page.evaluate("`a-${sockets.a.nextId}`"))
    assert page.evaluate(FLOW) == ["timeout", "no reply in time"]
    assert page.evaluate("sockets.a.pending.size") == 0 and len(wire.lost) == 1

    # The connection drops with a request waiting: it is rejected, the page is told, and the
    # socket comes back by itself and says hello again.
    wire.lose_next(type="reply", id=page.evaluate("`a-${sockets.a.nextId}`"))
    page.evaluate(f"() => {{ window.waiting = {FLOW}; }}")  # sent, not awaited
    wire.cut(4999)
    assert page.evaluate("window.waiting") == ["offline", "connection lost"]
    page.wait_for_function("() => logs.a.filter(([event]) => event === 'connected').length === 2")
    assert ["disconnected", {"code": 4999, "reconnecting": True}] in page.evaluate("logs.a")
    assert len(wire.sockets) == 2
    assert page.evaluate(FLOW)[0] == "ok"

    # A wrong token: the server refuses the hello and closes with 4001; the code reaches the
    # page, which says hello without it next time.
    page.evaluate("window.badToken = 'a-token-the-server-never-gave-0123456789'")
    wire.cut(4999)
    page.wait_for_function("() => logs.a.filter(([event]) => event === 'connected').length === 3")
    log = page.evaluate("logs.a")
    assert any(event == "refused" and detail["code"] == "invalid_token" for event, detail in log), log
    assert ["disconnected", {"code": 4001, "reconnecting": True}] in log
    assert len(wire.sockets) == 4

    # Closed by the page: nothing comes back, nothing more is told, a request is refused at once.
    page.evaluate("sockets.a.close()")
    assert page.evaluate(FLOW) == ["offline", "connection lost"]
    assert page.evaluate("logs.a.length") == len(log)


def test_a_stop_code_ends_the_socket_where_another_comes_back(server: LiveServer, page: Any) -> None:
    wire = Wire(page, "/ws/visitor/")
    page.goto(f"{server.url}/staying-safe/")
    page.evaluate(OPEN_SOCKET, {"name": "a", "options": {"stopCodes": [4010]}})
    page.wait_for_function("() => sockets.a.ready")
    page.evaluate(OPEN_SOCKET, {"name": "b", "options": {}})
    page.wait_for_function("() => sockets.b.ready")
    assert len(wire.sockets) == 2
    for socket in range(2):  # both closed with the same code at the same moment
        route, to_server = wire.sockets[socket]
        route.close(code=4010, reason="signed out")
        to_server.close()
    # b, without the stop code, waits its first backoff and comes back; a, waiting the same
    # backoff had it not stopped, would have opened its socket by then.
    page.wait_for_function("() => logs.b.filter(([event]) => event === 'connected').length === 2")
    assert page.evaluate("logs.a") == [["connected", ""], ["stopped", 4010]]
    assert page.evaluate("logs.b")[1] == ["disconnected", {"code": 4010, "reconnecting": True}]
    assert page.evaluate("sockets.a.ready") is False
    assert len(wire.sockets) == 3
