"""Firecrawl's v2 REST API on loopback, as documented (docs.firecrawl.dev/api-reference):
``POST /v2/scrape``, ``POST /v2/crawl`` and ``GET /v2/crawl/{id}`` (polled until
``completed``), ``GET /v2/team/credit-usage``; a Bearer key, 401 when it is wrong. Faults are
chosen by the scraped URL's path: ``/rate`` answers 429 with Retry-After once, ``/malformed``
a body that is not JSON once, ``/down`` 502 every time."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from tests.helpers.http import JsonHandler, LocalServer

KEY = "fc-test-key"


def document(url: str, status: int = 200) -> dict[str, Any]:
    name = url.rstrip("/").rsplit("/", 1)[-1] or "home"
    return {
        "markdown": f"# {name.title()}\n\nFirecrawl markdown of {name}: insulin pump notes.",
        "metadata": {"title": name.title(), "sourceURL": url, "url": url, "statusCode": status},
    }


class FakeFirecrawl:
    def __init__(self, *, site_pages: list[str] | None = None) -> None:
        self.calls: Counter[str] = Counter()
        self.polls = 0
        self.site_pages = site_pages or []
        self.lock = threading.Lock()
        fake = self

        class Handler(JsonHandler):
            def _authorized(self) -> bool:
                if self.headers.get("Authorization") == f"Bearer {KEY}":
                    return True
                self.send_json(401, {"success": False, "error": "Unauthorized: Invalid token"})
                return False

            def do_GET(self) -> None:  # noqa: N802
                if not self._authorized():
                    return
                if self.path == "/v2/team/credit-usage":
                    return self.send_json(200, {"success": True, "data": {"remainingCredits": 500}})
                if self.path.startswith("/v2/crawl/"):
                    with fake.lock:
                        fake.polls += 1
                        done = fake.polls >= 2
                    data = [
                        document(u, 404 if u.endswith("/retired") else 200) for u in fake.site_pages
                    ]
                    return self.send_json(200, {
                        "success": True, "status": "completed" if done else "scraping",
                        "completed": len(data) if done else 0, "total": len(data),
                        "creditsUsed": len(data), "expiresAt": "2026-12-01T00:00:00Z",
                        "next": None, "data": data if done else [],
                    })  # fmt: skip
                self.send_json(404, {"success": False, "error": "not found"})

            def do_POST(self) -> None:  # noqa: N802
                if not self._authorized():
                    return
                body = self.read_json()
                url = str(body.get("url", ""))
                with fake.lock:
                    fake.calls[url] += 1
                    n = fake.calls[url]
                if self.path == "/v2/crawl":
                    crawl_id = "crawl-1"
                    return self.send_json(
                        200,
                        {
                            "success": True,
                            "id": crawl_id,
                            "url": f"http://127.0.0.1/v2/crawl/{crawl_id}",
                        },
                    )
                if self.path != "/v2/scrape":
                    return self.send_json(404, {"success": False, "error": "not found"})
                if url.endswith("/rate") and n == 1:
                    self.send_response(429)
                    self.send_header("Retry-After", "1")
                    self.send_header("content-type", "application/json")
                    payload = b'{"success": false, "error": "Rate limit exceeded"}'
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    return self.wfile.write(payload)
                if url.endswith("/malformed") and n == 1:
                    payload = b"<html>502 Bad Gateway from a proxy</html>"
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    return self.wfile.write(payload)
                if url.endswith("/down"):
                    return self.send_json(502, {"success": False, "error": "Bad gateway"})
                status = 404 if url.endswith("/missing") else 200
                self.send_json(200, {"success": True, "data": document(url, status)})

        self.server = LocalServer(Handler)
        self.base = self.server.base

    def __enter__(self) -> FakeFirecrawl:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
