"""The ingest queues (SQLite and Redis) and the outbox: at-least-once delivery, a message no
one can read kept aside, a waiting job found by its id, and its webhooks registered once."""

from __future__ import annotations

import time

import pytest

from catalyst_search.ingest_requests import queue as queue_module
from catalyst_search.ingest_requests.contract import IngestMessage
from catalyst_search.ingest_requests.queue import SqliteQueue
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
