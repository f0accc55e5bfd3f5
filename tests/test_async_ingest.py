"""The asynchronous path with real processes: the Dagster daemon and the search service.

POST /ingest/bulk queues a job; the daemon's sensor launches a run; the job's progress rises to
``succeeded``; the documents are then found through /search.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, icd_records, write_jsonl
from tests.helpers.services import MACHINE_REDIS, delete_prefix, machine_redis, unique_prefix
from tests.test_end_to_end import _free_port, _wait_healthy, _wait_ready


@pytest.fixture(params=["sqlite", "redis"])
def processes(request, catalyst_home, tmp_path):
    """The daemon and the service, on the SQLite queue or on the machine's Redis."""
    queue_env: dict[str, str] = {}
    if request.param == "redis":
        client = machine_redis()
        prefix = unique_prefix()
        request.addfinalizer(lambda: delete_prefix(client, prefix))
        queue_env = {"CATALYST_QUEUE": MACHINE_REDIS, "CATALYST_REDIS_PREFIX": prefix}
    dagster_home = tmp_path / "dagster"
    shutil.copyfile(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "CATALYST_INDEX_REFRESH_S": "0.2",
        "CATALYST_DISPATCH_STALE_S": "60",
        **queue_env,
    }
    started = []

    def start(*command: str) -> subprocess.Popen:
        with open(tmp_path / f"process-{len(started)}.log", "w") as log:
            process = subprocess.Popen(
                list(command), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log
            )
        started.append(process)
        return process

    yield env, start
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def test_bulk_ingest_through_the_daemon_to_search(tmp_path, processes):
    env, start = processes
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    service = start(sys.executable, "-m", "catalyst_search.cli", "serve", "--port", str(port))
    daemon = Path(sys.executable).with_name("dagster-daemon")
    start(str(daemon), "run", "-w", str(ROOT / "workspace.yaml"))
    _wait_healthy(url)
    records = icd_records()  # the 1,009 endocrine codes: long enough to watch progress move
    source = write_jsonl(tmp_path / "endocrine.jsonl", records)
    accepted = requests.post(f"{url}/ingest/bulk", json={"sources": [str(source)]}, timeout=10)
    assert accepted.status_code == 202, accepted.text
    job_url = f"{url}{accepted.json()['status_url']}"

    seen_states, progress = [], []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        job = requests.get(job_url, timeout=10).json()
        seen_states.append(job["status"])
        progress.append(job["progress"]["documents_done"])
        if job["status"] in ("succeeded", "completed_with_errors", "failed"):
            break
        time.sleep(0.5)
    assert job["status"] == "succeeded", job
    assert progress == sorted(progress) and progress[-1] == len(records)  # lines in the source
    assert any(0 < done < progress[-1] for done in progress)  # seen part-way
    assert seen_states[0] == "queued" and "running" in seen_states
    assert job["sources"][0]["run_id"] and job["sources"][0]["attempts"] == 1

    _wait_ready(url, service)
    ready = requests.get(f"{url}/readyz", timeout=5).json()
    assert ready["ingestion_dispatch"] == "ok"
    body = requests.post(
        f"{url}/search", json={"query": "obesity due to excess calories", "top_k": 3}, timeout=30
    ).json()
    assert body["results"][0]["document_id"].startswith("E66")
