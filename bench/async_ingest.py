"""Time from POST /ingest/bulk to searchable, for 1 and for 1,000 ICD documents, with the real
Dagster daemon and search service, split into: waiting for the sensor, run start-up, the run
itself, and the service picking up the published index version.

    python bench/async_ingest.py
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import CORPUS, ROOT
from bench.service import free_port


def wait(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


@contextmanager
def service_and_daemon(env: dict[str, str], work: Path) -> Iterator[str]:
    """``catalystctl serve`` and the Dagster daemon with ``env``, both ready (the daemon's
    first sensor tick seen); yields the service's URL and stops both on exit."""
    url = f"http://127.0.0.1:{free_port()}"
    bin_dir = Path(sys.executable).parent
    logs = open(work / "processes.log", "w")  # noqa: SIM115 - closed at the end
    procs = [
        subprocess.Popen([str(bin_dir / "catalystctl"), "serve", "--port", url.rsplit(":", 1)[1]],
                         env=env, stdout=logs, stderr=logs),
        subprocess.Popen([str(bin_dir / "dagster-daemon"), "run", "-w",
                          str(ROOT / "workspace.yaml")],
                         env=env, stdout=logs, stderr=logs, cwd=ROOT),
    ]  # fmt: skip
    try:
        wait(lambda: requests.get(f"{url}/healthz", timeout=1).ok, 120, "the service")
        wait(
            lambda: requests.get(f"{url}/readyz", timeout=1).json()["ingestion_dispatch"] == "ok",
            120,
            "the daemon's first sensor tick",
        )
        yield url
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
        logs.close()


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="catalyst-bench-async-"))
    env = {
        **os.environ,
        "CATALYST_HOME": str(work / "home"),
        "DAGSTER_HOME": str(work / "dagster"),
        "CATALYST_INDEX_REFRESH_S": "0.2",
        "CATALYST_SOURCE_ROOTS": str(work),  # the batches it writes are ingest sources
    }
    (work / "dagster").mkdir()
    shutil.copyfile(ROOT / "dagster.yaml", work / "dagster" / "dagster.yaml")
    with gzip.open(CORPUS, "rt") as handle:
        records = [json.loads(line) for line in handle]
    try:
        with service_and_daemon(env, work) as url:
            os.environ.update(DAGSTER_HOME=env["DAGSTER_HOME"])
            import dagster as dg

            instance = dg.DagsterInstance.get()
            print(
                f"{'documents':>9} {'to searchable':>14} {'sensor wait':>12} {'run start-up':>13} "
                f"{'run':>8} {'to visible':>11}"
            )
            offset = 0
            for size in (1, 1000):
                batch = records[offset : offset + size]
                offset += size
                source = work / f"batch-{size}.jsonl"
                source.write_text("".join(json.dumps(r) + "\n" for r in batch))
                probe = batch[-1]
                t0 = time.time()
                job = requests.post(
                    f"{url}/ingest/bulk", json={"sources": [str(source)]}, timeout=10
                )
                job_url = f"{url}{job.json()['status_url']}"

                def searchable(probe: dict = probe) -> bool:
                    body = requests.post(
                        f"{url}/search",
                        json={
                            "query": probe["text"].splitlines()[0],
                            "top_k": 3,
                            "filters": {"document_id": probe["id"]},
                        },
                        timeout=10,
                    )
                    return body.status_code == 200 and bool(body.json()["results"])

                wait(searchable, 900, f"{size} documents to become searchable")
                t_search = time.time()
                status = requests.get(job_url, timeout=10).json()
                record = instance.get_run_record_by_id(status["sources"][0]["run_id"])
                assert record is not None
                created = record.create_timestamp.timestamp()
                start, end = record.start_time or created, record.end_time or t_search
                print(
                    f"{size:>9} {t_search - t0:>13.1f}s {created - t0:>11.1f}s "
                    f"{start - created:>12.1f}s {end - start:>7.1f}s {t_search - end:>10.1f}s"
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
