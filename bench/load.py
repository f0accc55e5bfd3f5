"""Load and soak on loopback: a bulk ingest of the ICD corpus through Dagster while searches run
at concurrency 8, then the maximum QPS at concurrency 8, then a soak at 80% of it, reporting
p50/p95/p99, QPS, errors and the service's resident memory over time. Bounded: every phase
has a fixed duration, every request a timeout; it stops by itself.

    python bench/load.py [--soak-minutes 10] [--report bench/results/load.md]

The ingest and the service take the encoder from the environment, as in a deployment:
``CATALYST_ENCODER_PRECISION=int8 python bench/load.py`` measures the int8 encoder end to end.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import CORPUS, DATA, RESULTS, load_queries, percentile
from bench.service import running_service
from catalyst_search.settings import load_settings

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "corpus"
TIMEOUT_S = 10


class Traffic:
    """Searches from ``workers`` threads, each paced to ``rate`` per second in all (0: as fast
    as answered), until ``stop`` is set; latencies and errors kept per second of the run."""

    def __init__(self, url: str, queries: list[str], workers: int, rate: float = 0) -> None:
        self.url, self.queries, self.workers, self.rate = url, queries, workers, rate
        self.stop = threading.Event()
        self.samples: list[tuple[float, float, int]] = []  # (at, latency ms, status)
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(n,)) for n in range(workers)]

    def __enter__(self) -> Traffic:
        self.started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(TIMEOUT_S + 5)
        self.ended = time.monotonic()

    def _run(self, n: int) -> None:
        session = requests.Session()
        interval = self.workers / self.rate if self.rate else 0.0
        next_at = time.monotonic() + n * interval / self.workers
        i = n
        while not self.stop.is_set():
            if interval:
                delay = next_at - time.monotonic()
                if delay > 0 and self.stop.wait(delay):
                    break
                next_at = max(next_at + interval, time.monotonic() - interval)  # no catch-up burst
            text = self.queries[i % len(self.queries)]
            i += self.workers
            started = time.monotonic()
            try:
                status = session.post(
                    f"{self.url}/search", json={"query": text, "top_k": 10}, timeout=TIMEOUT_S
                ).status_code
            except requests.RequestException:
                status = 0
            with self._lock:
                self.samples.append((started, (time.monotonic() - started) * 1000, status))

    def summary(self, since: float = 0.0) -> dict[str, float]:
        rows = [s for s in self.samples if s[0] - self.started >= since]
        latencies = [ms for _, ms, status in rows if status == 200]
        wall = self.ended - self.started - since
        return {
            "requests": len(rows),
            "qps": len(rows) / wall if wall > 0 else 0.0,
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "p99": percentile(latencies, 99),
            "errors": sum(1 for _, _, status in rows if status != 200),
        }


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` and its children (the service's index readers)."""
    return process_rss_mb(pid) + sum(process_rss_mb(child) for child in _children(pid))


def process_rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` alone; 0 once it has exited."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # it exited meanwhile
        pass
    return 0.0


def pss_mb(pid: int) -> float:
    """Proportional memory of process ``pid`` and its children: a page they share (the index's
    files, mapped by the service and its helper alike) counts once, split between them."""
    total = 0.0
    for each in (pid, *_children(pid)):
        try:
            with open(f"/proc/{each}/smaps_rollup") as rollup:
                total += next(int(ln.split()[1]) for ln in rollup if ln.startswith("Pss:")) / 1024
        except (OSError, StopIteration):  # it exited meanwhile
            pass
    return total


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):  # not a process, or one that exited
            continue
        if parent == pid:
            found.append(int(entry.name))
    return found


def row(label: str, s: dict[str, float]) -> str:
    return (
        f"| {label} | {s['requests']:.0f} | {s['qps']:.1f} | {s['p50']:.1f} | {s['p95']:.1f} "
        f"| {s['p99']:.1f} | {s['errors']:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--soak-minutes", type=float, default=10.0)
    parser.add_argument("--max-seconds", type=float, default=30.0, help="max-QPS phase")
    parser.add_argument("--report", type=Path, default=RESULTS / "load.md")
    args = parser.parse_args()
    texts = [q["query"] for q in load_queries()]
    settings = load_settings()  # the environment's, as the ingest and the service read it
    encoder = f"runtime {settings.encoder_runtime}, precision {settings.encoder_precision}"
    lines = [
        f"# Load and soak ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores)\n",
        f"Encoder: {encoder} (the ingest's and the service's).\n",
    ]
    table = (
        "| phase | requests | QPS | p50 ms | p95 ms | p99 ms | errors |\n"
        "|---|---|---|---|---|---|---|"
    )
    with tempfile.TemporaryDirectory(prefix="catalyst-load-") as tmp:
        home = Path(tmp) / "home"
        env = {
            **os.environ,
            "CATALYST_HOME": str(home),
            "DAGSTER_HOME": str(home / "dagster"),
            "CATALYST_SOURCE_ROOTS": f"{DATA},{SAMPLE}",
            "CATALYST_RATE_SEARCH": "100000/second",  # one tenant sends everything
        }
        (home / "dagster").mkdir(parents=True)
        ingest = [sys.executable, "-m", "catalyst_orchestration.ingest"]
        subprocess.run([*ingest, str(SAMPLE)], env=env, check=True, capture_output=True)
        with running_service(home, env) as service:
            print(f"phase 1: bulk ingest of {CORPUS.name} while 8 clients search", flush=True)
            started = time.monotonic()
            with Traffic(service.url, texts, 8) as during:
                done = subprocess.run([*ingest, str(CORPUS)], env=env, capture_output=True)
            ingest_s = time.monotonic() - started
            if done.returncode:
                raise SystemExit(done.stderr.decode()[-2000:])
            print(f"  ingest {ingest_s:.0f}s; {during.summary()}", flush=True)

            print(f"phase 2: maximum QPS at concurrency 8 for {args.max_seconds:.0f}s", flush=True)
            with Traffic(service.url, texts, 8) as burst:
                time.sleep(args.max_seconds)
            peak = burst.summary()
            rate = 0.8 * peak["qps"]
            print(f"  {peak}", flush=True)

            print(f"phase 3: soak at {rate:.0f} QPS for {args.soak_minutes:g} min", flush=True)
            memory: list[tuple[float, float]] = []
            with Traffic(service.url, texts, 8, rate=rate) as soak:
                end = time.monotonic() + args.soak_minutes * 60
                while time.monotonic() < end:
                    memory.append((time.monotonic() - soak.started, rss_mb(service.pid)))
                    time.sleep(min(10.0, max(0.0, end - time.monotonic())))
            memory.append((time.monotonic() - soak.started, rss_mb(service.pid)))
    warm = [mb for at, mb in memory if at >= 60] or [mb for _, mb in memory]
    drift = (max(warm) - min(warm)) / min(warm) * 100
    lines += [
        f"Bulk ingest of {CORPUS.name} (46,920 documents) through Dagster: {ingest_s:.0f} s.\n",
        table,
        row("searches during the bulk ingest (c=8)", during.summary()),
        row(f"maximum, c=8, {args.max_seconds:.0f} s", peak),
        row(f"soak at {rate:.0f} QPS (80%), {args.soak_minutes:g} min", soak.summary()),
        row("soak after its first minute", soak.summary(since=60)),
        "",
        f"Service memory after the first minute of the soak: {min(warm):.0f} to "
        f"{max(warm):.0f} MB, a spread of {drift:.1f}% (flat: within 10%).\n",
        "| minute | RSS MB |\n|---|---|",
        *[f"| {at / 60:.1f} | {mb:.0f} |" for at, mb in memory[::6]],
    ]
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
