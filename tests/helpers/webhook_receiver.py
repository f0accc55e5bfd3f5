"""A webhook receiver on loopback: answers each delivery with the next planned status (then
200), and keeps what it got."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from tests.helpers.http import JsonHandler, LocalServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class Receiver:
    server: LocalServer
    plan: list[int] = field(default_factory=list)  # statuses of the first deliveries
    received: list[Received] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"{self.server.base}/hooks/catalyst"


def webhook_receiver(plan: list[int] | None = None) -> Receiver:
    """A started receiver; ``stop()`` its ``server`` when done."""
    receiver: Receiver

    class Handler(JsonHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            status = receiver.plan.pop(0) if receiver.plan else 200
            headers = {k.lower(): v for k, v in self.headers.items()}
            receiver.received.append(Received(headers, body, status))
            answer: dict[str, Any] = {"ok": status < 300}
            self.send_json(status, answer)
            if status < 300:
                receiver.arrived.set()

    receiver = Receiver(LocalServer(Handler), list(plan or []))
    receiver.server.start()
    return receiver
