"""A helpline's own website, on another origin than the product, for widget tests.

Serves a host page that includes widget.js the way a helpline would (one script tag), a page
to come from (so the history can be checked after quick exit) and a neutral exit page."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.live import LiveServer, embedded_server, free_port

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Riverside Community Services</title>
<style>
  body {{ font-family: Georgia, serif; background: #fdf6e3; color: #222; margin: 2rem; }}
  /* A careless host style sheet: the widget must not be touched by it. */
  button {{ all: unset; }} * {{ font-size: 22px !important; }}
</style></head>
<body><main><h1>Riverside Community Services</h1>
<p>Libraries, gardening clubs and advice in the valley.</p>
<label>Search the site <input id="search" type="search"></label></main>
<script src="{product}/widget.js" async data-title="Talk to us" data-accent="#2a5d3c"
        data-language="{language}" data-exit-url="{exit_url}"></script>
</body></html>
"""

PLAIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><main><h1>{title}</h1></main></body></html>"""


class HostSite:
    def __init__(self, product_url: str, *, language: str = "en") -> None:
        self.port = free_port()
        self.product_url = product_url
        self.language = language
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        return self.url

    @property
    def exit_url(self) -> str:
        return f"{self.url}/weather"

    def page(self, path: str) -> tuple[int, str]:
        if path.startswith("/?") or path == "/":
            language = path.split("lang=", 1)[1] if "lang=" in path else self.language
            return 200, HOST_PAGE.format(product=self.product_url, language=language, exit_url=self.exit_url)
        if path == "/before":
            return 200, PLAIN_PAGE.format(title="Community news")
        if path.startswith("/weather"):
            return 200, PLAIN_PAGE.format(title="Weather forecast")
        if path.startswith("/framed"):
            # A page that frames the chat directly, without the script.
            return 200, f'<!doctype html><title>Framed</title><iframe src="{self.product_url}/widget/frame/"></iframe>'
        return 404, PLAIN_PAGE.format(title="Not found")

    def start(self) -> None:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = site.page(self.path)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@contextmanager
def host_site(product_url: str, **kwargs: Any) -> Iterator[HostSite]:
    site = HostSite(product_url, **kwargs)
    site.start()
    try:
        yield site
    finally:
        site.stop()


@contextmanager
def product_and_host(
    tmp: Path, *, host_class: type[HostSite] = HostSite, language: str = "en"
) -> Iterator[tuple[LiveServer, HostSite]]:
    """The product, and a helpline's site allowed to embed it, both started."""
    host = host_class("", language=language)
    server = embedded_server(tmp, extra_origins=[host.origin])
    host.product_url = server.url
    server.start()
    host.start()
    try:
        yield server, host
    finally:
        host.stop()
        server.stop()
