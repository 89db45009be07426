"""A web server on loopback for the web_fetch tests: pages by path, and the Host header of every
request it was sent."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Page = tuple[int, Mapping[str, str], bytes]
"""Status, headers and body."""
MISSING: Page = (404, {"Content-Type": "text/plain"}, b"no such page")


class PageServer(ThreadingHTTPServer):
    """Serves ``routes`` (set them after it is bound, once its port is known)."""

    def __init__(self, routes: Mapping[str, Page] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: Mapping[str, Page] = routes or {}
        self.hosts: list[str | None] = []
        """The Host header of each request, in order."""

    @property
    def port(self) -> int:
        return self.server_address[1]

    @contextmanager
    def serving(self) -> Iterator[PageServer]:
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.shutdown()
            self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: PageServer

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.server.hosts.append(self.headers["Host"])
        status, headers, body = self.server.routes.get(self.path, MISSING)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass
