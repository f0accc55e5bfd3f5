"""catalystctl's asynchronous ingest: a job id now, progress from the job record."""

from __future__ import annotations

import json
import subprocess
import sys

from catalyst_search.settings import load_settings
from catalyst_search.stores.jobs import SqliteJobStore
from tests.conftest import icd_records, write_jsonl

CTL = [sys.executable, "-m", "catalyst_search.cli"]


def test_ingest_queues_a_job_and_jobs_status_reports_it(catalyst_home, tmp_path):
    source = write_jsonl(tmp_path / "r.jsonl", icd_records(limit=3))
    queued = subprocess.run(
        [*CTL, "ingest", str(source)], capture_output=True, text=True, timeout=120
    )
    assert queued.returncode == 0, queued.stderr
    job_id = queued.stdout.split()[1]
    assert "catalystctl jobs status" in queued.stdout
    status = subprocess.run(
        [*CTL, "jobs", "status", job_id], capture_output=True, text=True, timeout=120
    )
    assert status.returncode == 0, status.stderr
    view = json.loads(status.stdout)
    assert view["status"] == "queued" and view["sources"][0]["source"] == str(source.resolve())
    job = SqliteJobStore(load_settings().jobs_db).get(job_id)
    assert job is not None and job.status == "queued"
    missing = subprocess.run(
        [*CTL, "jobs", "status", "nope"], capture_output=True, text=True, timeout=120
    )
    assert missing.returncode == 2 and "no ingest job" in missing.stderr
