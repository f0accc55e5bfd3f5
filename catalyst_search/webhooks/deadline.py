"""One deadline for a whole HTTP exchange, which httpx's timeouts are not.

httpx bounds each connect, write and read on its own. A receiver that answers a byte every few
seconds never trips a read timeout, and could hold a delivery, and the deliveries behind it,
for as long as it likes. ``Deadline`` learns the connection's socket through httpcore's
``trace`` request extension and shuts it down when the time is up: the blocked read returns,
and httpx raises, whatever phase the exchange was in, the TLS handshake included.

It shuts down a duplicate of the TCP socket's descriptor: TLS detaches the socket it wraps (the
original object has no descriptor by the handshake), and a shutdown through the duplicate ends
the connection without touching the TLS object another thread is reading through. Name
resolution comes before the exchange (the outbound policy pins the address) and has its own
bound (``outbound.RESOLVE_TIMEOUT_S``); a name not resolved in time is retried later.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from types import TracebackType
from typing import Any

#: httpcore's trace event that hands over the TCP stream a request goes on
_CONNECTED = "connection.connect_tcp.complete"


class Deadline:
    """``with Deadline(s) as d: client.send(request with extensions={"trace": d.trace})``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._socket: socket.socket | None = None  # a duplicate of the connection's
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event != _CONNECTED:
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is None:
            return
        with self._lock:
            if self._socket is None:
                self._socket = socket.socket(fileno=os.dup(sock.fileno()))
            if self.expired:  # connected just after the deadline: cut it at once
                self._cut()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._cut()

    def _cut(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):  # the peer closed it already
                self._socket.shutdown(socket.SHUT_RDWR)

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
        with self._lock:
            if self._socket is not None:
                self._socket.close()  # the duplicate only: the connection is httpx's
                self._socket = None
