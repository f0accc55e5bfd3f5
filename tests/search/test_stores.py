"""The job stores (SQLite and Redis): job status from its runs, step retries, events, ids that are
no job, and the job view of many failures."""

from __future__ import annotations

import time

import pytest

from catalyst_search.ingest_requests.queue import SqliteQueue
from catalyst_search.ingest_requests.redis_jobs import RedisJobStore
from catalyst_search.ingest_requests.sqlite_jobs import SqliteJobStore
from tests.helpers.services import delete_prefix, machine_redis, unique_prefix


@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path):
    if request.param == "sqlite":
        yield SqliteJobStore(tmp_path / "jobs.sqlite")
        return
    client = machine_redis()
    prefix = unique_prefix()
    yield RedisJobStore(client, prefix=prefix)
    delete_prefix(client, prefix)


def test_job_status_follows_its_runs(store):
    job = store.create(job_id="j", tenant_id="t", sources=["/a", "/b"], metadata={"k": 1})
    assert job.status == "queued" and job.docs_total is None
    store.run_started("j", "/a", run_id="r1")
    store.progress("j", "/a", done=5, total=10)
    job = store.get("j")
    assert job and job.status == "running" and job.docs_done == 5
    store.run_finished("j", "/a", status="succeeded", failures=[])
    store.run_started("j", "/b", run_id="r2")
    store.progress("j", "/b", done=3, total=3)
    store.run_finished("j", "/b", status="succeeded", failures=[{"location": "/b/x.pdf"}])
    job = store.get("j")
    assert job and job.status == "completed_with_errors"
    assert (job.docs_done, job.docs_total) == (8, 13)
    store.run_started("j", "/b", run_id="r3")  # a retry
    store.run_finished("j", "/b", status="failed", error="boom")
    job = store.get("j")
    assert job and job.status == "failed" and job.runs[1].attempts == 2
    assert store.get("missing") is None
    assert store.exists("j") and not store.exists("missing")
    assert store.last_beat("sensor") is None
    store.beat("sensor")
    assert time.time() - (store.last_beat("sensor") or 0) < 5


def test_step_retries_are_counted_per_source_apart_from_run_attempts(store):
    store.create(job_id="j", tenant_id="t", sources=["/a", "/b"], metadata={})
    store.run_started("j", "/a", run_id="r1")  # acquisition
    store.run_started("j", "/a", run_id="r1")  # parsing: the same run, no new attempt
    store.run_started("j", "/a", run_id="r1", step_retry=True)  # index, first retry
    store.run_started("j", "/a", run_id="r1", step_retry=True)  # index, second retry
    store.run_started("j", "/a", run_id="r2", step_retry=False)  # a run retry
    job = store.get("j")
    assert job is not None
    assert [(r.attempts, r.step_retries) for r in job.runs] == [(2, 2), (0, 0)]


def test_a_job_store_written_before_step_retries_gains_the_column(tmp_path):
    import sqlite3

    path = tmp_path / "jobs.sqlite"
    with sqlite3.connect(path) as conn:  # the schema as it was, with a job in it
        conn.executescript(
            "CREATE TABLE job_runs (job_id TEXT NOT NULL, source TEXT NOT NULL, run_id TEXT, "
            "status TEXT NOT NULL, docs_done INTEGER NOT NULL DEFAULT 0, docs_total INTEGER, "
            "attempts INTEGER NOT NULL DEFAULT 0, failures TEXT NOT NULL DEFAULT '[]', "
            "artifact_uris TEXT NOT NULL DEFAULT '[]', error TEXT, updated_at REAL NOT NULL, "
            "PRIMARY KEY (job_id, source));"
            "CREATE TABLE jobs (job_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, "
            "sources TEXT NOT NULL, metadata TEXT NOT NULL, created_at REAL NOT NULL, "
            "updated_at REAL NOT NULL);"
            "INSERT INTO jobs VALUES ('old', 't', '[\"/a\"]', '{}', 1, 1);"
            "INSERT INTO job_runs (job_id, source, status, attempts, updated_at) "
            "VALUES ('old', '/a', 'succeeded', 1, 1);"
        )
    conn.close()
    store = SqliteJobStore(path)
    store.run_started("old", "/a", run_id="r9", step_retry=True)
    job = store.get("old")
    assert job is not None and (job.runs[0].attempts, job.runs[0].step_retries) == (2, 1)


def test_a_job_tells_its_story_as_events_resumable_after_any_id(store):
    store.create(job_id="j", tenant_id="t", sources=["/a"], metadata={})
    store.run_started("j", "/a", run_id="r1")
    store.run_started("j", "/a", run_id="r1")  # another step of the same run: no new attempt
    store.run_started("j", "/a", run_id="r1", step_retry=True)
    store.progress("j", "/a", done=1, total=2)
    store.run_finished("j", "/a", status="retrying", error="killed")
    store.run_started("j", "/a", run_id="r2")
    store.progress("j", "/a", done=2, total=2)
    failure = {"location": "/a/x", "error": "MalformedRecord"}
    store.run_finished("j", "/a", status="succeeded", failures=[failure])
    events = store.events("j", after=None, limit=100)
    assert [e.kind for e in events] == [
        "job_queued",
        "run_started",
        "step_retried",
        "progress",
        "run_ended",
        "run_started",
        "progress",
        "document_failed",
        "run_ended",
        "job_finished",
    ]
    assert [e.data.get("attempt") for e in events if e.kind == "run_started"] == [1, 2]
    assert events[4].data["status"] == "retrying" and events[-1].data == {
        "status": "completed_with_errors"
    }
    assert events[7].data["location"] == "/a/x"
    assert store.events("j", after=events[5].id, limit=100) == events[6:]
    assert store.events("j", after=events[5].id, limit=2) == events[6:8]
    assert store.events("j", after=events[-1].id, limit=100) == []
    assert store.events("j", after="not-an-id", limit=100) == events  # from the start
    assert store.events("other", after=None, limit=100) == []


def test_an_id_unlike_a_job_id_finds_no_job_and_reaches_no_store(store, tmp_path):
    import uuid

    from catalyst_search.ingest_requests.dispatch import Dispatcher, find_job

    job_id = uuid.uuid4().hex
    store.create(job_id=job_id, tenant_id="t", sources=["/a"], metadata={})
    store.run_started(job_id, "/a", run_id="r1")  # (in Redis: the job's events stream)
    outbox = SqliteQueue(tmp_path / "outbox.sqlite", lazy=True)
    dispatcher = Dispatcher(SqliteQueue(tmp_path / "queue.sqlite"), outbox, store)
    found = find_job(dispatcher, job_id)
    assert found is not None and found.tenant_id == "t"
    for crafted in (f"{job_id}:events", f"{job_id}:webhooks", job_id.upper(), "x" * 64):
        assert find_job(dispatcher, crafted) is None  # 404 at the API, not a store's error


def test_a_job_view_lists_the_first_failures_and_artifacts_and_counts_them_all(
    store, tmp_path, capsys
):
    import uuid

    from catalyst_search.api.routes.jobs import MAX_LISTED, job_view
    from catalyst_search.cli.jobs import describe
    from catalyst_search.client.models import IngestJob
    from catalyst_search.ingest_requests.dispatch import Dispatcher, find_job

    job_id = uuid.uuid4().hex
    store.create(job_id=job_id, tenant_id="t", sources=["/a"], metadata={})
    store.run_started(job_id, "/a", run_id="r1")
    failures = [{"location": f"/a/{n}.pdf", "error": "HTTP404"} for n in range(MAX_LISTED + 50)]
    uris = [f"file:///artifacts/{n}" for n in range(3 * MAX_LISTED)]
    store.run_finished(job_id, "/a", status="succeeded", failures=failures, artifact_uris=uris)
    dispatcher = Dispatcher(
        SqliteQueue(tmp_path / "q.sqlite"), SqliteQueue(tmp_path / "o.sqlite", lazy=True), store
    )
    job = find_job(dispatcher, job_id)
    assert job is not None
    (run,) = job_view(job, "http://dagster", dispatcher).sources
    assert run.failures == failures[:MAX_LISTED] and run.failures_total == MAX_LISTED + 50
    assert run.artifact_uris == uris[:MAX_LISTED] and run.artifact_uris_total == 3 * MAX_LISTED
    assert run.retried == [] and run.retried_total == 0 and run.listed_at_most == MAX_LISTED
    seen = IngestJob.from_json(job_view(job, "http://dagster", dispatcher).model_dump())
    assert seen.sources[0].failures_total == MAX_LISTED + 50  # the SDK reads the counts
    assert (seen.sources[0].retried_total, seen.sources[0].listed_at_most) == (0, MAX_LISTED)
    describe(seen)  # catalystctl jobs status: 20 of them, then how many there are in all
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("  failed /a/") for line in lines) == 20
    assert lines[-1].startswith(f"  ... {MAX_LISTED + 50} failed documents in all")
