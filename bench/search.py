"""Search latency and throughput of ``POST /search`` at concurrency 1 and 8, for the torch
baseline (sentence-transformers, one encoder call per search), the default path (ONNX
Runtime with the query batcher) and the same with the int8 encoder over the index it wrote,
beside the direct cost of the same queries in-process (query encode + backend query), all
measured in one run: two rounds per path in mirrored order (torch, onnx, int8, int8, onnx,
torch), pooled, since this machine's speed drifts over minutes. Memory is
the service's with its index helper: RSS adds up both processes' resident pages, PSS counts a
page they share (the index's files) once.

    python bench/search.py [--requests N] [--only onnx+batcher]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_home, ensure_index, load_queries, percentile
from bench.load import pss_mb, rss_mb
from bench.service import running_service
from catalyst_search.retrieval.factory import build_retriever
from catalyst_search.settings import load_settings

#: name -> the service's environment: the torch baseline encodes each search on its own.
PATHS = {
    "torch": {"CATALYST_ENCODER_RUNTIME": "torch", "CATALYST_QUERY_BATCH_MAX": "1"},
    "onnx+batcher": {"CATALYST_ENCODER_RUNTIME": "onnx"},
    "onnx-int8+batcher": {"CATALYST_ENCODER_RUNTIME": "onnx", "CATALYST_ENCODER_PRECISION": "int8"},
}
#: Both: no per-tenant rate limit in the way of the measurement (one tenant sends everything).
SERVICE_ENV = {"CATALYST_RATE_SEARCH": "100000/second"}  # a short window: few entries


@dataclass
class Load:
    latencies: list[float]
    qps: float
    errors: int

    def row(self, label: str) -> str:
        p50, p95, p99 = (percentile(self.latencies, q) for q in (50, 95, 99))
        return f"{label:>20} {p50:8.1f} {p95:8.1f} {p99:8.1f} {self.qps:7.1f} {self.errors:>6}"


def run_load(url: str, queries: list[str], concurrency: int) -> Load:
    """``queries`` through ``POST /search`` from ``concurrency`` threads, one kept-alive
    connection each. The client is the standard library's ``http.client``: it shares the two
    cores with the service, and ``requests`` spent about 1.5 ms of CPU per search of its own
    (measured on 2026-12-03), which a load generator should not take from what it measures."""
    import threading

    host, port = url.split("//", 1)[1].rsplit(":", 1)
    connections: dict[int, http.client.HTTPConnection] = {}
    headers = {"content-type": "application/json"}

    def one(text: str) -> tuple[float, int]:
        conn = connections.setdefault(
            threading.get_ident(), http.client.HTTPConnection(host, int(port), timeout=60)
        )
        body = json.dumps({"query": text, "top_k": 10})
        started = time.perf_counter()
        try:
            conn.request("POST", "/search", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            conn.close()  # reconnects on the next request
            status = 0
        return (time.perf_counter() - started) * 1000, status

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, queries))
    wall = time.perf_counter() - started
    for conn in connections.values():
        conn.close()
    errors = sum(1 for _, status in results if status != 200)
    return Load([ms for ms, _ in results], len(results) / wall, errors)


@dataclass
class Direct:
    encode_ms: list[float]
    query_ms: list[float]

    @property
    def cost(self) -> float:
        """p50 encode + p50 backend query: what one search costs without HTTP."""
        return statistics.median(self.encode_ms) + statistics.median(self.query_ms)


def direct(home: Path, env: dict[str, str], texts: list[str]) -> Direct:
    """In-process query encode and backend query times, one search at a time."""
    settings = load_settings(
        home=home,
        index_processes=0,  # the index in this process: the direct cost has no pipe in it
        **{k[9:].lower(): v for k, v in env.items()},
    )
    retriever = build_retriever(settings)
    found = Direct([], [])
    try:
        for text in texts[:20]:  # warm-up
            retriever.search(tenant_id="default", query=text)
        for text in texts:
            timings = retriever.search(tenant_id="default", query=text).timings_ms
            found.encode_ms.append(timings["encode"])
            found.query_ms.append(timings["prefetch"] + timings["fusion"])
    finally:
        retriever.close()
    return found


@dataclass
class Figures:
    """One path's measurements, pooled over its rounds."""

    direct: Direct
    loads: dict[int, Load]
    rss_mb: list[float]
    pss_mb: list[float]

    def add(self, other: Figures) -> None:
        """Pool another round of the same path into these figures."""
        self.direct.encode_ms += other.direct.encode_ms
        self.direct.query_ms += other.direct.query_ms
        for concurrency, load in other.loads.items():
            mine = self.loads[concurrency]
            seconds = len(mine.latencies) / mine.qps + len(load.latencies) / load.qps
            mine.latencies += load.latencies
            mine.qps = len(mine.latencies) / seconds
            mine.errors += load.errors
        self.rss_mb += other.rss_mb
        self.pss_mb += other.pss_mb


HEADER = "{:>20} {:>8} {:>8} {:>8} {:>7} {:>6}".format(
    "concurrency", "p50 ms", "p95 ms", "p99 ms", "QPS", "errors"
)


def precision_of(name: str) -> str:
    return PATHS[name].get("CATALYST_ENCODER_PRECISION", "fp32")


def home_of(name: str) -> Path:
    """The index ``name``'s encoder wrote (the int8 one has its own)."""
    return bench_home(precision=precision_of(name))


def measure(name: str, texts: list[str], sample: list[str]) -> Figures:
    env, home = PATHS[name], home_of(name)
    found = direct(home, env, texts)
    print(
        f"\n{name}: direct, in-process: encode p50 {statistics.median(found.encode_ms):.2f} ms, "
        f"backend query p50 {statistics.median(found.query_ms):.2f} ms"
    )
    print(HEADER)
    with running_service(home, {**SERVICE_ENV, **env}) as service:
        run_load(service.url, texts[:40], 2)  # warm-up
        loads = {c: run_load(service.url, sample, c) for c in (1, 8)}
        rss, pss = rss_mb(service.pid), pss_mb(service.pid)
    for concurrency, load in loads.items():
        print(load.row(str(concurrency)))
    print(f"service memory after the load: RSS {rss:.0f} MB, PSS {pss:.0f} MB")
    return Figures(found, loads, [rss], [pss])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400, help="requests per concurrency level")
    parser.add_argument("--only", choices=sorted(PATHS), help="measure one path only")
    args = parser.parse_args()
    for name in [args.only] if args.only else PATHS:
        ensure_index(home_of(name), precision_of(name))
    texts = [q["query"] for q in load_queries()]
    sample = texts[args.requests : 2 * args.requests]
    # mirrored: the machine's speed drifts over minutes, so each path is measured twice, in
    # an order that puts all at the same mean time; the figures pool both rounds.
    order = [args.only] * 2 if args.only else [*PATHS, *reversed(PATHS)]
    print(
        f"indexes in {home_of('torch')}(-int8); {os.cpu_count()} cores; {args.requests} "
        f"requests per level and round; rounds: {', '.join(order)}"
    )
    figures: dict[str, Figures] = {}
    for name in order:
        found = measure(name, texts[: args.requests], sample)
        if name in figures:
            figures[name].add(found)
        else:
            figures[name] = found
    print("\nboth rounds pooled:")
    for name, fig in figures.items():
        print(f"{name}: direct encode + backend query {fig.direct.cost:.2f} ms")
        print(HEADER)
        for concurrency, load in sorted(fig.loads.items()):
            print(load.row(str(concurrency)))
        print(
            f"service memory after the load (highest): RSS {max(fig.rss_mb):.0f} MB, "
            f"PSS {max(fig.pss_mb):.0f} MB"
        )
    if "torch" not in figures:
        return
    c8_base = figures["torch"].loads[8]
    for name, new in figures.items():
        if name == "torch":
            continue
        c8_new, c1_p50 = new.loads[8], percentile(new.loads[1].latencies, 50)
        errors = sum(load.errors for load in new.loads.values())
        print(
            f"\n{name}: concurrency 8: {c8_new.qps / c8_base.qps:.2f}x the torch baseline's "
            f"throughput (target >= 4x), p95 {percentile(c8_new.latencies, 95):.1f} ms "
            "(target <= 80)"
        )
        print(
            f"concurrency 1: HTTP p50 {c1_p50:.1f} ms = {c1_p50 / new.direct.cost:.2f}x the direct "
            f"encode + backend query {new.direct.cost:.1f} ms (target <= 1.3x); errors {errors}"
        )


if __name__ == "__main__":
    main()
