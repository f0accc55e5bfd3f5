"""One deadline for a whole HTTP exchange, which httpx's timeouts are not.

httpx bounds each connect, write and read on its own. A receiver that answers a byte every few
seconds never trips a read timeout, and could hold a delivery, and the deliveries behind it,
for as long as it likes. ``Deadline`` learns the connection's socket through httpcore's
``trace`` request extension and shuts it down when the time is up: the blocked read returns,
and httpx raises, whatever phase the exchange was in.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Any

#: httpcore's trace events that hand over the stream a request goes on (TLS wraps the TCP one)
_STREAM_EVENTS = ("connection.connect_tcp.complete", "connection.start_tls.complete")


class Deadline:
    """``with Deadline(s) as d: client.send(request with extensions={"trace": d.trace})``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._stream: Any = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event in _STREAM_EVENTS:
            with self._lock:
                self._stream = info.get("return_value")
                if self.expired:  # connected just after the deadline: cut it at once
                    self._cut()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._cut()

    def _cut(self) -> None:
        sock = self._stream.get_extra_info("socket") if self._stream is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed: nothing left to cut
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()
