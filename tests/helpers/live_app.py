"""The search service served by uvicorn on a free loopback port, for clients that speak HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from catalyst_search.api.app import create_app
from catalyst_search.settings import Settings
from tests.helpers.services import free_port


@contextmanager
def live_app(settings: Settings) -> Iterator[str]:
    """Serve ``create_app(settings)`` in this process; yields its base URL, stops on exit."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="live-app", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the search service did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
