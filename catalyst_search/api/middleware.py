"""Request counts and latency per route, as plain ASGI middleware.

Starlette's ``@app.middleware("http")`` wraps every request in a task and a stream pair; this
costs a fraction of that per request. Latency is observed when the response starts (a job
event stream is counted by its time to first byte, not by how long it stays open).
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from catalyst_search.metrics import SearchMetrics


class RequestMetrics:
    def __init__(self, app: ASGIApp, metrics: SearchMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        observed = False

        def observe(status: int) -> None:
            nonlocal observed
            observed = True
            path = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(
                route=path, method=scope["method"], status=str(status)
            ).inc()
            self.metrics.request_latency.labels(route=path).observe(time.perf_counter() - started)

        async def send_observed(message: Message) -> None:
            if message["type"] == "http.response.start" and not observed:
                observe(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            if not observed:  # failed before any response: the server answers 500
                observe(500)
