"""``POST /search`` from a load generator on this machine: one at a time, or from N threads."""

from __future__ import annotations

import http.client
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bench.common import percentile

HEADERS = {"content-type": "application/json"}


@dataclass
class Load:
    latencies: list[float]
    wall_s: float
    errors: int
    #: one at a time only: each answer's ``timings_ms`` and its latency at the client, "client"
    timings: list[dict[str, float]] = field(default_factory=list)

    @property
    def qps(self) -> float:
        return len(self.latencies) / self.wall_s if self.wall_s else 0.0

    def row(self, label: str) -> str:
        p50, p95, p99 = (percentile(self.latencies, q) for q in (50, 95, 99))
        return f"{label:>20} {p50:8.1f} {p95:8.1f} {p99:8.1f} {self.qps:7.1f} {self.errors:>6}"

    def add(self, other: Load) -> None:
        """Pool ``other`` into this one (throughput over both's time)."""
        self.latencies += other.latencies
        self.timings += other.timings
        self.wall_s += other.wall_s
        self.errors += other.errors


class Client:
    """One kept-alive connection. The standard library's ``http.client``: the client shares the
    two cores with the service, and ``requests`` spent about 1.5 ms of CPU per search of its own
    (measured on 2026-12-03), which a load generator should not take from what it measures."""

    def __init__(self, url: str) -> None:
        host, port = url.split("//", 1)[1].rsplit(":", 1)
        self._conn = http.client.HTTPConnection(host, int(port), timeout=60)
        self.last_body = b""

    def search(self, text: str) -> tuple[float, int]:
        """One search: (milliseconds, HTTP status; 0 when the connection failed)."""
        body = json.dumps({"query": text, "top_k": 10})
        started = time.perf_counter()
        try:
            self._conn.request("POST", "/search", body=body, headers=HEADERS)
            response = self._conn.getresponse()
            self.last_body = response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            self._conn.close()  # reconnects on the next request
            status = 0
        return (time.perf_counter() - started) * 1000, status

    def close(self) -> None:
        self._conn.close()


def one_at_a_time(client: Client, queries: list[str]) -> Load:
    """``queries`` one after the other in this thread, on ``client``'s connection, keeping
    each answer's ``timings_ms`` (read after its latency was taken)."""
    results, bodies = [], []
    started = time.perf_counter()
    for text in queries:
        results.append(client.search(text))
        bodies.append(client.last_body)
    load = _load(results, time.perf_counter() - started)
    load.timings = [
        {"client": ms, **json.loads(body)["timings_ms"]}
        for (ms, status), body in zip(results, bodies, strict=True)
        if status == 200
    ]
    return load


def run_load(url: str, queries: list[str], concurrency: int) -> Load:
    """``queries`` through ``POST /search`` from ``concurrency`` threads, one connection each."""
    clients: dict[int, Client] = {}

    def one(text: str) -> tuple[float, int]:
        client = clients.get(threading.get_ident())
        if client is None:
            client = clients[threading.get_ident()] = Client(url)
        return client.search(text)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, queries))
    wall = time.perf_counter() - started
    for client in clients.values():
        client.close()
    return _load(results, wall)


def _load(results: list[tuple[float, int]], wall: float) -> Load:
    errors = sum(1 for _, status in results if status != 200)
    return Load([ms for ms, _ in results], wall, errors)
