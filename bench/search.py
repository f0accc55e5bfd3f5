"""Search latency and throughput of ``POST /search`` at concurrency 1 and 8, for the torch
baseline (sentence-transformers, one encoder call per search), the default path (ONNX
Runtime with the query batcher) and the same with the int8 encoder over the index it wrote,
beside the direct cost of the same queries in-process (query encode + backend query), all
measured in one run: two rounds per path in mirrored order (torch, onnx, int8, int8, onnx,
torch), pooled, since this machine's speed drifts over minutes. Within a round the direct
cost and concurrency 1 take turns, 50 searches each, over the same queries. Memory is
the service's with its index helper: RSS adds up both processes' resident pages, PSS counts a
page they share (the index's files) once.

    python bench/search.py [--requests N] [--only onnx+batcher]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_home, ensure_index, load_queries, percentile
from bench.http_load import Client, Load, one_at_a_time, run_load
from bench.load import pss_mb, rss_mb
from bench.service import running_service
from catalyst_search.retrieval.factory import build_retriever
from catalyst_search.retrieval.hybrid import Retriever
from catalyst_search.settings import load_settings

#: name -> the service's environment: the torch baseline encodes each search on its own.
PATHS = {
    "torch": {"CATALYST_ENCODER_RUNTIME": "torch", "CATALYST_QUERY_BATCH_MAX": "1"},
    "onnx+batcher": {"CATALYST_ENCODER_RUNTIME": "onnx"},
    "onnx-int8+batcher": {"CATALYST_ENCODER_RUNTIME": "onnx", "CATALYST_ENCODER_PRECISION": "int8"},
}
#: Both: no per-tenant rate limit in the way of the measurement (one tenant sends everything).
SERVICE_ENV = {"CATALYST_RATE_SEARCH": "100000/second"}  # a short window: few entries
BLOCK = 50  # searches per turn of the direct cost and HTTP at concurrency 1


@dataclass
class Direct:
    encode_ms: list[float]
    query_ms: list[float]

    @property
    def cost(self) -> float:
        """p50 encode + p50 backend query: what one search costs without HTTP."""
        return statistics.median(self.encode_ms) + statistics.median(self.query_ms)


def direct_retriever(home: Path, env: dict[str, str]) -> Retriever:
    """The service's retriever in this process, the index in it too: no pipe, no HTTP."""
    settings = load_settings(
        home=home,
        index_processes=0,  # the index in this process: the direct cost has no pipe in it
        **{k[9:].lower(): v for k, v in env.items()},
    )
    return build_retriever(settings)


def direct(retriever: Retriever, texts: list[str], found: Direct) -> None:
    """Query encode and backend query times of ``texts``, one search at a time, into ``found``."""
    for text in texts:
        timings = retriever.search(tenant_id="default", query=text).timings_ms
        found.encode_ms.append(timings["encode"])
        found.query_ms.append(timings["prefetch"] + timings["fusion"])


@dataclass
class Figures:
    """One path's measurements, pooled over its rounds."""

    direct: Direct
    loads: dict[int, Load]
    rss_mb: list[float]
    pss_mb: list[float]
    c1_ratios: list[float]  # each round's concurrency 1 p50 over its own direct cost

    def add(self, other: Figures) -> None:
        """Pool another round of the same path into these figures."""
        self.c1_ratios += other.c1_ratios
        self.direct.encode_ms += other.direct.encode_ms
        self.direct.query_ms += other.direct.query_ms
        for concurrency, load in other.loads.items():
            self.loads[concurrency].add(load)
        self.rss_mb += other.rss_mb
        self.pss_mb += other.pss_mb


HEADER = "{:>20} {:>8} {:>8} {:>8} {:>7} {:>6}".format(
    "concurrency", "p50 ms", "p95 ms", "p99 ms", "QPS", "errors"
)


def breakdown(load: Load) -> str:
    """Where searches one at a time spent their time: each part's p50 over the searches (the
    parts' p50s need not add up to the whole's). ``index`` is the index call as the service saw
    it: the legs, fusion and payloads in the helper, the pipe to it and back, and any wait for
    it; ``HTTP and the app`` is the client's latency less the retriever's total and the wait
    for a thread (so the thread's hand-back to the event loop is in it)."""
    parts: dict[str, list[float]] = {}
    for t in load.timings:
        if "prefetch" not in t or "fusion" not in t:  # fused in the engine, or no index call
            continue
        index = t.get("index", t["prefetch"] + t["fusion"])  # in-process: no pipe
        for name, ms in {
            "client": t["client"],
            "HTTP and the app": t["client"] - t["total"] - t["queue"],
            "thread hand-over": t["queue"],
            "encode": t["encode"],
            "index": index,
            "legs": t["prefetch"],
            "fusion and payloads": t["fusion"],
            "pipe": index - t["prefetch"] - t["fusion"],
            "retriever's own": t["total"] - t["encode"] - index,
        }.items():
            parts.setdefault(name, []).append(ms)
    if not parts:
        return "none of the answers had their index parts (fused in the engine?)"
    return ", ".join(f"{name} {statistics.median(ms):.2f}" for name, ms in parts.items())


def precision_of(name: str) -> str:
    return PATHS[name].get("CATALYST_ENCODER_PRECISION", "fp32")


def home_of(name: str) -> Path:
    """The index ``name``'s encoder wrote (the int8 one has its own)."""
    return bench_home(precision=precision_of(name))


def concurrency_one(
    name: str, url: str, warm_up: list[str], sample: list[str]
) -> tuple[Direct, Load]:
    """The direct cost and ``POST /search`` one at a time, taking turns in blocks of ``BLOCK``
    searches over the same queries (each going first in every other turn), so that the
    machine's speed drifting between the two does not skew their ratio. Both are warmed up
    alike on ``warm_up`` first: a fresh reader's first few hundred queries are slower (the
    index's pages, the encoder's first calls). The in-process retriever is closed before the
    service's other loads."""
    found, one = Direct([], []), Load([], 0.0, 0)
    with (
        closing(direct_retriever(home_of(name), PATHS[name])) as retriever,
        closing(Client(url)) as client,
    ):
        direct(retriever, warm_up, Direct([], []))
        one_at_a_time(client, warm_up)
        for n, start in enumerate(range(0, len(sample), BLOCK)):
            block = sample[start : start + BLOCK]
            if n % 2:  # in turn first: neither always meets the other's idle moment
                one.add(one_at_a_time(client, block))
                direct(retriever, block, found)
            else:
                direct(retriever, block, found)
                one.add(one_at_a_time(client, block))
    return found, one


def measure(name: str, texts: list[str], sample: list[str]) -> Figures:
    """One round of ``name``: concurrency 1 beside the direct cost, then concurrency 8."""
    with running_service(home_of(name), {**SERVICE_ENV, **PATHS[name]}) as service:
        found, one = concurrency_one(name, service.url, texts, sample)
        loads = {1: one, 8: run_load(service.url, sample, 8)}
        rss, pss = rss_mb(service.pid), pss_mb(service.pid)
    print(
        f"\n{name}: direct, in-process: encode p50 {statistics.median(found.encode_ms):.2f} ms, "
        f"backend query p50 {statistics.median(found.query_ms):.2f} ms"
    )
    print(HEADER)
    for concurrency, load in loads.items():
        print(load.row(str(concurrency)))
    print(f"service memory after the load: RSS {rss:.0f} MB, PSS {pss:.0f} MB")
    print(f"one at a time, p50 ms: {breakdown(loads[1])}")
    ratio = percentile(loads[1].latencies, 50) / found.cost
    return Figures(found, loads, [rss], [pss], [ratio])


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
        print(f"one at a time, p50 ms: {breakdown(fig.loads[1])}")
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
            f"encode + backend query {new.direct.cost:.1f} ms (target <= 1.3x; rounds "
            f"{', '.join(f'{r:.2f}x' for r in new.c1_ratios)}); errors {errors}"
        )


if __name__ == "__main__":
    main()
