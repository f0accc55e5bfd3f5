"""Runs under the real daemon. A run worker killed (SIGKILL) mid-run: the run fails, Dagster's
run retries (dagster.yaml) start it again, the job never shows ``failed`` meanwhile
(``retrying`` at most), ends ``succeeded`` after two attempts, ``catalystctl ingest --wait``
exits 0, the signed webhook reports success, and the index holds each chunk once. A job
cancelled mid-run: its run stops, is not retried, and the job ends ``cancelled``."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from catalyst_orchestration.lib.state import StateStore
from catalyst_search import cli
from catalyst_search.client import CatalystClient
from catalyst_search.client.webhooks import verify
from catalyst_search.index.embedded.reader import EmbeddedReader
from catalyst_search.index.filters import FilterSpec, document_filter
from catalyst_search.settings import load_settings
from tests.conftest import ROOT, write_jsonl
from tests.helpers.webhook_receiver import webhook_receiver
from tests.test_async_ingest import processes  # noqa: F401  (fixture)
from tests.test_end_to_end import _free_port, _wait_healthy


def _records(n: int) -> list[dict]:
    import gzip
    import json

    with gzip.open(ROOT / "bench" / "data" / "icd10cm" / "corpus.jsonl.gz", "rt") as handle:
        return [json.loads(next(handle)) for _ in range(n)]


def _run_worker(dagster_home: str, run_id: str) -> int | None:
    """The pid of the process executing ``run_id``, from the run's own engine events."""
    import re

    import dagster as dg

    instance = dg.DagsterInstance.from_config(dagster_home)
    for entry in instance.all_logs(run_id):
        match = re.search(r"Started process for run \(pid: (\d+)\)", entry.message or "")
        if match:
            return int(match.group(1))
    return None


@pytest.mark.parametrize("processes", ["sqlite"], indirect=True)
def test_killed_run_worker_is_retried_without_duplicates(tmp_path, processes):  # noqa: F811
    env, start = processes
    receiver = webhook_receiver(plan=[503])  # the first delivery fails: it is retried
    env |= {
        "CATALYST_WEBHOOK_SECRET": "daemon-test-secret",
        "CATALYST_OUTBOUND_ALLOW": "127.0.0.1",
        "CATALYST_WEBHOOK_BACKOFF_S": "0.5",
    }
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    start(sys.executable, "-m", "catalyst_search.cli", "serve", "--port", str(port))
    start(
        str(Path(sys.executable).with_name("dagster-daemon")),
        "run",
        "-w",
        str(ROOT / "workspace.yaml"),
    )
    _wait_healthy(url)
    records = _records(1500)
    source = write_jsonl(tmp_path / "batch.jsonl", records)
    follow: list[int] = []  # `catalystctl ingest --wait` from submission to the end
    argv = ["ingest", str(source), "--wait", "--webhook", receiver.url, "--server", url]
    follower = threading.Thread(target=lambda: follow.append(cli.main(argv)))
    follower.start()
    deadline = time.monotonic() + 60
    while not (jobs := requests.get(f"{url}/ingest/jobs", timeout=10).json()["jobs"]):
        assert time.monotonic() < deadline, "the CLI queued no job"
        time.sleep(0.1)
    job_id, job_url = jobs[0]["job_id"], url + jobs[0]["status_url"]

    killed = None
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and killed is None:
        job = requests.get(job_url, timeout=10).json()
        run_id = job["sources"][0]["run_id"]
        if run_id and 0 < job["progress"]["documents_done"] < len(records):
            killed = _run_worker(env["DAGSTER_HOME"], run_id)
            if killed:
                os.kill(killed, signal.SIGKILL)
        time.sleep(0.2)
    assert killed, "never caught the run mid-index"

    seen = []  # every status the job showed between the kill and the end
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        job = requests.get(job_url, timeout=10).json()
        seen.append(job["status"])
        if job["status"] in ("succeeded", "completed_with_errors", "failed", "cancelled"):
            break
        time.sleep(0.2)
    assert job["status"] == "succeeded", job
    assert "failed" not in seen  # Dagster was going to retry it: never reported as failed
    follower.join(timeout=60)
    assert follow == [0]  # it followed through the retry and exited 0 on success
    with CatalystClient(url) as client:
        events = list(client.events(job_id))
    assert [e.data["attempt"] for e in events if e.kind == "run_started"] == [1, 2]
    assert events[-1].kind == "job_finished" and events[-1].data["status"] == "succeeded"
    assert job["sources"][0]["attempts"] == 2
    assert receiver.arrived.wait(timeout=60), "the job_webhooks sensor delivered nothing"
    secret = requests.get(f"{url}/webhooks/secret", timeout=10).json()["secret"]
    delivered = receiver.received[-1]
    payload = verify(secret, delivered.body, delivered.headers["catalyst-signature"])
    assert payload["job"]["job_id"] == job_id and payload["job"]["status"] == "succeeded"
    assert [r.answered for r in receiver.received] == [503, 200]
    receiver.server.stop()
    settings = load_settings()
    chunks = (
        StateStore(settings.state_db)
        .source_totals(settings.collection, "default", str(source.resolve()))
        .chunks
    )
    reader = EmbeddedReader(settings.index_dir, refresh_s=0)
    try:
        assert reader.count(FilterSpec()) == chunks  # every chunk once, nothing extra
        documents = {r["id"] for r in records}
        assert chunks >= len(documents)
        for document_id in list(documents)[:50]:
            assert reader.count(document_filter("default", document_id)) >= 1
    finally:
        reader.close()


@pytest.mark.parametrize("processes", ["sqlite"], indirect=True)
def test_cancelling_a_running_job_stops_its_run(tmp_path, processes):  # noqa: F811
    import dagster as dg

    env, start = processes
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    start(sys.executable, "-m", "catalyst_search.cli", "serve", "--port", str(port))
    start(str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w",
          str(ROOT / "workspace.yaml"))  # fmt: skip
    _wait_healthy(url)
    source = write_jsonl(tmp_path / "batch.jsonl", _records(1500))
    job_id = requests.post(f"{url}/ingest/bulk", json={"sources": [str(source)]}, timeout=10)
    job_id = job_id.json()["job_id"]
    deadline = time.monotonic() + 240
    while (
        requests.get(f"{url}/ingest/jobs/{job_id}", timeout=10).json()["progress"]["documents_done"]
        == 0
    ):
        assert time.monotonic() < deadline, "the run never started indexing"
        time.sleep(0.2)
    assert cli.main(["jobs", "cancel", job_id, "--server", url]) == 0
    assert cli.main(["jobs", "follow", job_id, "--server", url]) == 1  # it ended cancelled
    job = requests.get(f"{url}/ingest/jobs/{job_id}", timeout=10).json()
    assert job["status"] == "cancelled" and job["cancel_requested"] is True
    assert job["progress"]["documents_done"] < 1500
    instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
    run = instance.get_run_by_id(job["sources"][0]["run_id"])
    # terminated (CANCELED), or stopped by its own step at a progress report (FAILURE, tagged so
    # that Dagster does not retry it): either way it ran no further and no retry run follows
    assert run is not None and run.is_finished
    assert run.status in (dg.DagsterRunStatus.CANCELED, dg.DagsterRunStatus.FAILURE)
    time.sleep(3)  # a retry would be launched within a daemon tick
    assert [r.run_id for r in instance.get_runs()] == [run.run_id]
