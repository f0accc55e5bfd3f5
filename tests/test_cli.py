"""catalystctl against the running service, through the SDK: ingest queues a job, jobs status
reports it, search finds what an ingest indexed."""

from __future__ import annotations

import json

import pytest

from catalyst_search import cli
from catalyst_search.ingest_requests.sqlite_jobs import SqliteJobStore
from catalyst_search.settings import load_settings
from tests.conftest import icd_records, write_jsonl
from tests.helpers.live_app import live_app


@pytest.fixture
def service(catalyst_home):
    with live_app(load_settings()) as url:
        yield url


def test_ingest_queues_a_job_and_jobs_status_reports_it(service, tmp_path, capsys):
    source = write_jsonl(tmp_path / "r.jsonl", icd_records(limit=3))
    assert cli.main(["ingest", str(source), "--url", service]) == 0
    queued = capsys.readouterr().out
    job_id = queued.split()[1]
    assert "catalystctl jobs status" in queued
    assert cli.main(["jobs", "status", job_id, "--url", service]) == 0
    view = json.loads(capsys.readouterr().out)
    assert view["status"] == "queued" and view["sources"][0]["source"] == str(source.resolve())
    job = SqliteJobStore(load_settings().jobs_db).get(job_id)
    assert job is not None and job.status == "queued"
    assert cli.main(["jobs", "status", "nope", "--url", service]) == 2
    assert "no ingest job" in capsys.readouterr().err


def test_ingest_of_a_bad_source_says_why(service, tmp_path, capsys):
    assert cli.main(["ingest", str(tmp_path / "missing"), "--url", service]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["ingest", str(tmp_path), "--tenant", "other", "--url", service]) == 2
    assert "--tenant" in capsys.readouterr().err


def test_commands_say_when_the_service_is_down(catalyst_home, capsys):
    from tests.helpers.services import free_port

    url = f"http://127.0.0.1:{free_port()}"
    assert cli.main(["jobs", "status", "j", "--url", url]) == 2
    assert "cannot reach" in capsys.readouterr().err


def test_search_through_the_service_says_when_nothing_is_indexed(service, capsys):
    assert cli.main(["search", "diabetes", "--url", service]) == 1
    assert "ingest documents first" in capsys.readouterr().err


def test_wait_for_job_gives_up_after_its_timeout_with_the_last_state(service, tmp_path):
    import time

    from catalyst_search.client import CatalystClient, JobTimeout

    source = write_jsonl(tmp_path / "r.jsonl", icd_records(limit=1))
    with CatalystClient(service) as client:
        job_id = client.submit_ingest([str(source)]).job_id  # no daemon: it stays queued
        started = time.monotonic()
        with pytest.raises(JobTimeout) as waited:
            client.wait_for_job(job_id, timeout_s=0.6, interval_s=0.25)
    assert 0.6 <= time.monotonic() - started < 5
    assert waited.value.job.job_id == job_id and waited.value.job.status == "queued"
    assert waited.value.job.sources[0].step_retries == 0
