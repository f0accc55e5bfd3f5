"""Search latency and throughput of ``POST /search`` at concurrency 1 and 8, beside the direct
cost of the same queries in-process (query encode + backend query), measured in one run.

    python bench/search.py [--requests N]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_home, ensure_index, load_queries, percentile
from catalyst_search.retrieval.factory import build_retriever
from catalyst_search.settings import load_settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_load(url: str, queries: list[str], concurrency: int) -> tuple[list[float], float, int]:
    session_per_thread: dict[int, requests.Session] = {}

    def one(text: str) -> tuple[float, int]:
        import threading

        session = session_per_thread.setdefault(threading.get_ident(), requests.Session())
        started = time.perf_counter()
        response = session.post(f"{url}/search", json={"query": text, "top_k": 10}, timeout=60)
        return (time.perf_counter() - started) * 1000, response.status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, queries))
    wall = time.perf_counter() - started
    errors = sum(1 for _, status in results if status != 200)
    return [ms for ms, _ in results], len(results) / wall, errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400, help="requests per concurrency level")
    args = parser.parse_args()
    home = bench_home()
    ensure_index(home)
    settings = load_settings(home=home)
    texts = [q["query"] for q in load_queries()]

    retriever = build_retriever(settings)
    encode_ms, query_ms = [], []
    for text in texts[: args.requests]:
        timings = retriever.search(tenant_id="default", query=text).timings_ms
        encode_ms.append(timings["encode"])
        query_ms.append(timings["prefetch"] + timings["fusion"])
    version = retriever.reader.version
    retriever.reader.close()
    print(f"index {version or ''} in {home}")
    print(
        f"direct, in-process: encode p50 {statistics.median(encode_ms):.2f} ms, "
        f"backend query p50 {statistics.median(query_ms):.2f} ms, "
        f"p95 {percentile(query_ms, 95):.2f} ms"
    )

    port = free_port()
    env = {**os.environ, "CATALYST_HOME": str(home)}
    service = subprocess.Popen(
        [sys.executable, "-m", "catalyst_search.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("service did not start")
            time.sleep(0.3)
        run_load(url, texts[:20], 1)  # warm-up
        header = ("concurrency", "p50 ms", "p95 ms", "p99 ms", "QPS", "errors")
        print("\n{:>11} {:>8} {:>8} {:>8} {:>7} {:>6}".format(*header))
        for concurrency in (1, 8):
            sample = texts[args.requests : 2 * args.requests]
            latencies, qps, errors = run_load(url, sample, concurrency)
            print(
                f"{concurrency:>11} {percentile(latencies, 50):8.1f} "
                f"{percentile(latencies, 95):8.1f} {percentile(latencies, 99):8.1f} "
                f"{qps:7.1f} {errors:>6}"
            )
    finally:
        service.terminate()
        service.wait(timeout=30)


if __name__ == "__main__":
    main()
