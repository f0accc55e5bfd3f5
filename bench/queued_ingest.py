"""Twenty ingest jobs queued at once, under the real Dagster daemon and search service: the
peak resident memory of all run processes together, the most runs alive at once, and the time
until every job has ended; with the run queue unlimited and with the embedded default's limit
(dagster.yaml's ``run_queue``), beside one job of the same 1,000 documents. All on loopback.

    python bench/queued_ingest.py [--jobs 20] [--documents 1000]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.async_ingest import service_and_daemon, wait
from bench.common import CORPUS, ROOT
from bench.load import process_rss_mb

TERMINAL = {"succeeded", "completed_with_errors", "failed", "cancelled"}


def run_processes() -> list[int]:
    """Pids of Dagster run workers: the processes the code server spawns for runs (the default
    run launcher), or ``dagster api execute_run`` ones."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"execute_run" in cmdline or b"multiprocessing.spawn" in cmdline:
            found.append(int(entry.name))
    return found


class Sampler(threading.Thread):
    """Every 0.25 s: the run workers alive and their resident memory together."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mb = 0.0
        self.peak_runs = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.25):
            pids = run_processes()
            self.peak_runs = max(self.peak_runs, len(pids))
            self.peak_mb = max(self.peak_mb, sum(process_rss_mb(p) for p in pids))


def scenario(records: list[dict], jobs: int, limit: int | None, label: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="catalyst-bench-queued-"))
    env = {
        **os.environ,
        "CATALYST_HOME": str(work / "home"),
        "DAGSTER_HOME": str(work / "dagster"),
        "CATALYST_SOURCE_ROOTS": str(work),
    }
    (work / "dagster").mkdir()
    instance = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    instance.pop("run_queue", None)
    if limit is not None:
        instance["run_queue"] = {"max_concurrent_runs": limit}
    (work / "dagster" / "dagster.yaml").write_text(yaml.safe_dump(instance))
    sampler = Sampler()
    try:
        with service_and_daemon(env, work) as url:
            sample_and_wait(url, records, jobs, work, sampler, label)
    finally:
        sampler.stop.set()
        shutil.rmtree(work, ignore_errors=True)


def sample_and_wait(
    url: str, records: list[dict], jobs: int, work: Path, sampler: Sampler, label: str
) -> None:
    """Post ``jobs`` jobs at once and wait until all have ended, sampling the run workers."""
    size = len(records) // jobs
    sources = []
    for n in range(jobs):
        path = work / f"batch-{n}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records[n * size : (n + 1) * size]))
        sources.append(str(path))
    sampler.start()
    t0 = time.monotonic()
    urls = []
    for source in sources:
        accepted = requests.post(f"{url}/ingest/bulk", json={"sources": [source]}, timeout=10)
        urls.append(f"{url}{accepted.json()['status_url']}")

    def ended() -> bool:
        return all(requests.get(u, timeout=10).json()["status"] in TERMINAL for u in urls)

    wait(ended, 1800, f"{jobs} jobs to end")
    elapsed = time.monotonic() - t0
    statuses = [requests.get(u, timeout=10).json()["status"] for u in urls]
    sampler.stop.set()
    ok = sum(s == "succeeded" for s in statuses)
    print(
        f"{label:<34} {jobs:>4} {size * jobs:>9} {elapsed:>9.1f}s {sampler.peak_runs:>9} "
        f"{sampler.peak_mb:>10.0f} MB {ok:>4}/{jobs}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--documents", type=int, default=1000)
    args = parser.parse_args()
    with gzip.open(CORPUS, "rt") as handle:
        records = [json.loads(line) for _, line in zip(range(args.documents), handle, strict=False)]
    default_limit = yaml.safe_load((ROOT / "dagster.yaml").read_text()).get("run_queue", {})
    limit = default_limit.get("max_concurrent_runs")
    print(f"{'scenario':<34} {'jobs':>4} {'documents':>9} {'total':>10} {'most runs':>9} "
          f"{'peak RSS':>13} {'ok':>6}")  # fmt: skip
    scenario(records, 1, None, "one job, the same documents")
    scenario(records, args.jobs, None, "queued jobs, run queue unlimited")
    if limit is not None:
        scenario(records, args.jobs, limit, f"queued jobs, at most {limit} runs")


if __name__ == "__main__":
    main()
