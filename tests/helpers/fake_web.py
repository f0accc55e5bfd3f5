"""A small web site on loopback whose pages fail on purpose: rate limits with Retry-After,
server errors, a timeout, a missing page, robots.txt rules, redirects and an oversize body."""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler

from tests.helpers.http import LocalServer


def article(title: str, body: str) -> bytes:
    paragraphs = "".join(f"<p>{body} ({n})</p>" for n in range(3))
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body>"
        f"<nav><a href='/'>Home</a> | <a href='/about'>About</a></nav>"
        f"<article><h1>{title}</h1>{paragraphs}</article>"
        f"<footer>Copyright and cookie banner text</footer></body></html>"
    ).encode()


class FakeSite:
    """``hits`` counts requests per path; ``gone`` paths answer 410 from then on."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.user_agents: set[str] = set()
        self.gone: set[str] = set()
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                with site.lock:
                    site.hits[self.path] += 1
                    hit = site.hits[self.path]
                    site.user_agents.add(self.headers.get("User-Agent", ""))
                site.answer(self, self.path, hit)

        self.server = LocalServer(Handler)
        self.base = self.server.base

    def answer(self, h: BaseHTTPRequestHandler, path: str, hit: int) -> None:
        def send(status: int, body: bytes = b"", ctype: str = "text/html", **headers: str) -> None:
            h.send_response(status)
            h.send_header("content-type", ctype)
            h.send_header("content-length", str(len(body)))
            for name, value in headers.items():
                h.send_header(name.replace("_", "-"), value)
            h.end_headers()
            h.wfile.write(body)

        if path in self.gone:
            return send(410, b"gone")
        if path == "/robots.txt":
            return send(200, b"User-agent: *\nDisallow: /private\n", "text/plain")
        if path == "/rate-limited" and hit == 1:
            return send(429, b"slow down", Retry_After="1")
        if path == "/flaky" and hit <= 2:
            return send(500, b"oops")
        if path == "/always-down":
            return send(503, b"down")
        if path == "/slow" and hit == 1:
            time.sleep(2.5)  # longer than the test's CATALYST_FETCH_TIMEOUT_S
        if path == "/missing":
            return send(404, b"no such page")
        if path == "/redirect":
            return send(302, Location="/article")
        if path == "/redirect-private":
            return send(302, Location="http://10.11.12.13/secret")
        if path == "/big":
            return send(200, b"x" * 300_000, "text/plain")
        if path == "/notes.txt":
            return send(200, b"Plain text notes about hypothyroidism and TSH.", "text/plain")
        title = path.strip("/").replace("-", " ").title() or "Home"
        send(200, article(title, f"Clinical guidance on {title.lower()} for diabetic foot care"))

    def __enter__(self) -> FakeSite:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
