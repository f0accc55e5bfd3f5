"""The SQLite ingest queue and job store: at-least-once delivery and job status."""

from __future__ import annotations

import time

import pytest

from catalyst_search.ingest_requests import queue as queue_module
from catalyst_search.ingest_requests.contract import IngestMessage
from catalyst_search.ingest_requests.queue import SqliteQueue
from catalyst_search.ingest_requests.redis_jobs import RedisJobStore
from catalyst_search.ingest_requests.sqlite_jobs import SqliteJobStore
from catalyst_search.sqlite import connect
from tests.helpers.services import delete_prefix, machine_redis, unique_prefix


def test_claimed_messages_hide_until_acked_or_expired(tmp_path):
    queue = SqliteQueue(tmp_path / "q.sqlite")
    first = queue.publish(IngestMessage("j1", "default", ["/a"]))
    queue.publish(IngestMessage("j2", "default", ["/b"]))
    assert queue.depth() == 2
    claimed = queue.claim(limit=1, visibility_s=0.3)
    assert [d.message_id for d in claimed] == [first]
    assert claimed[0].message.sources == ["/a"]
    assert [d.message.job_id for d in queue.claim(limit=5, visibility_s=0.3)] == ["j2"]
    assert queue.claim(limit=5, visibility_s=0.3) == []  # both in flight
    time.sleep(0.35)
    again = queue.claim(limit=5, visibility_s=30)
    assert [d.message.job_id for d in again] == ["j1", "j2"]  # redelivered, not lost
    assert again[0].deliveries == 2
    queue.ack([d.message_id for d in again])
    assert queue.depth() == 0
    assert queue.oldest_age_s() == 0.0


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


def test_the_outbox_finds_a_waiting_job_by_its_id(tmp_path):
    outbox = SqliteQueue(tmp_path / "outbox.sqlite", lazy=True)
    assert outbox.find("a" * 32) is None  # no file yet
    for n in range(50):
        outbox.publish(IngestMessage(f"{n:032x}", "t", [f"/s{n}"]))
    assert outbox.find(f"{7:032x}") == IngestMessage(f"{7:032x}", "t", ["/s7"])
    assert outbox.find("f" * 32) is None
    with connect(outbox.path) as conn:  # find's own query goes through the job id's index
        plan = conn.execute(f"EXPLAIN QUERY PLAN {queue_module._BY_JOB}", ("x",)).fetchall()  # noqa: SLF001
        conn.execute("INSERT INTO ingest_queue VALUES ('m', 'not json', 0, 0, 0)")  # accepted
    assert "ingest_queue_job" in str(plan)
    assert outbox.find("a" * 32) is None  # and skipped


def test_an_outbox_written_before_the_job_index_gains_it_when_opened(tmp_path):
    path = tmp_path / "outbox.sqlite"
    with connect(path) as conn:  # the table as an earlier version made it
        conn.execute(
            "CREATE TABLE ingest_queue (message_id TEXT PRIMARY KEY, body TEXT NOT NULL, "
            "enqueued_at REAL NOT NULL, visible_at REAL NOT NULL, "
            "deliveries INTEGER NOT NULL DEFAULT 0)"
        )
    SqliteQueue(path, lazy=True)
    with connect(path) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "ingest_queue_job" in names


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


@pytest.fixture(params=["sqlite", "redis"])
def ingest_queue(request, tmp_path):
    if request.param == "sqlite":
        yield SqliteQueue(tmp_path / "q.sqlite")
        return
    from catalyst_search.ingest_requests.redis_queue import RedisQueue

    client, prefix = machine_redis(), unique_prefix()
    yield RedisQueue(client, prefix=prefix)
    delete_prefix(client, prefix)


def test_a_message_no_one_can_read_is_kept_aside_and_the_rest_delivered(ingest_queue):
    from catalyst_search.ingest_requests.redis_queue import RedisQueue

    ingest_queue.publish(IngestMessage("a" * 32, "t", ["/a"]))
    unreadable = '{"job_id": "' + "b" * 32 + '", "tenant_id": "t", "sources": [], "new": 1}'
    if isinstance(ingest_queue, RedisQueue):  # (a newer API's message: a field unknown here)
        ingest_queue.client.xadd(ingest_queue.stream, {"body": unreadable})
    else:
        with connect(ingest_queue.path) as conn:
            conn.execute("INSERT INTO ingest_queue VALUES ('m2', ?, 0, 0, 0)", (unreadable,))
    ingest_queue.publish(IngestMessage("c" * 32, "t", ["/c"]))
    claimed = ingest_queue.claim(limit=10, visibility_s=30)
    assert [d.message.job_id for d in claimed] == ["a" * 32, "c" * 32]
    assert ingest_queue.depth() == 2  # the unreadable one left the queue, for an operator:
    if isinstance(ingest_queue, RedisQueue):
        ((_, kept),) = ingest_queue.client.xrange(ingest_queue.dead)
    else:
        with connect(ingest_queue.path) as conn:
            body, error = conn.execute("SELECT body, error FROM ingest_dead").fetchone()
        kept = {"body": body, "error": error}
    assert kept["body"] == unreadable and "new" in kept["error"]


def test_a_job_recorded_before_its_webhooks_could_be_gets_them_when_delivered(
    tmp_path, monkeypatch
):
    import uuid

    from catalyst_search.ingest_requests.dispatch import Dispatcher

    store = SqliteJobStore(tmp_path / "jobs.sqlite")
    dispatcher = Dispatcher(
        SqliteQueue(tmp_path / "q.sqlite"), SqliteQueue(tmp_path / "o.sqlite", lazy=True), store
    )
    job_id = uuid.uuid4().hex
    hooks = {"webhooks": ["https://hooks.example.com/x"], "tenant_webhook": "https://t.example/h"}
    message = IngestMessage(job_id, "t", ["/a"], {}, **hooks)
    register, tries = store.webhooks.register, []

    def blinks_once(*args: object) -> None:
        tries.append(args)
        if len(tries) == 1:
            raise ConnectionError("the store blinked")  # after the job record was made
        register(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(store.webhooks, "register", blinks_once)
    assert dispatcher.publish(message) == "outbox"
    assert store.exists(job_id) and store.webhooks.for_job(job_id) == []
    assert dispatcher.drain() == 1
    assert sorted(d.origin for d in store.webhooks.for_job(job_id)) == ["job", "tenant"]
    dispatcher._deliver(message)  # noqa: SLF001  (delivered again: registered once)
    assert len(store.webhooks.for_job(job_id)) == 2
