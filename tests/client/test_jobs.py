"""Jobs through the SDK against the live app (no daemon: jobs stay queued until acted on):
list a page at a time and by status, cancel, retry, and their refusals; events followed by
polling where a service gives no event stream."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from catalyst_search.client import (
    AsyncCatalystClient,
    CatalystClient,
    Conflict,
    NotFound,
    RetryPolicy,
)
from catalyst_search.settings import load_settings
from tests.conftest import icd_records, write_jsonl
from tests.helpers.http import JsonHandler, LocalServer
from tests.helpers.live_app import live_app


@pytest.fixture
def service(catalyst_home):
    with live_app(load_settings()) as url:
        yield url


def test_jobs_are_listed_newest_first_by_page_and_by_status(service, tmp_path):
    source = str(write_jsonl(tmp_path / "r.jsonl", icd_records(limit=1)))
    with CatalystClient(service) as client:
        ids = [client.submit_ingest([source]).job_id for _ in range(5)]
        client.cancel_job(ids[1])
        first = client.list_jobs(limit=2)
        assert [j.job_id for j in first.jobs] == [ids[4], ids[3]]
        rest = client.list_jobs(limit=10, cursor=first.next_cursor)
        assert [j.job_id for j in rest.jobs] == [ids[2], ids[1], ids[0]]
        assert rest.next_cursor is None
        cancelled = client.list_jobs(status="cancelled")
        assert [j.job_id for j in cancelled.jobs] == [ids[1]]
        assert cancelled.jobs[0].sources == 1 and cancelled.next_cursor is None
        queued = client.list_jobs(status="queued", limit=3)
        assert [j.job_id for j in queued.jobs] == [ids[4], ids[3], ids[2]]
        assert [
            j.job_id for j in client.list_jobs(status="queued", cursor=queued.next_cursor).jobs
        ] == [ids[0]]


def test_cancel_then_retry_makes_a_new_job_naming_the_first(service, tmp_path):
    source = str(write_jsonl(tmp_path / "r.jsonl", icd_records(limit=1)))
    with CatalystClient(service) as client:
        job_id = client.submit_ingest([source], metadata={"batch": 7}).job_id
        with pytest.raises(Conflict, match="nothing to retry"):
            client.retry_job(job_id)  # still queued
        job = client.cancel_job(job_id)
        assert job.status == "cancelled" and job.view["cancel_requested"] is True
        assert job.sources[0].error == "cancelled before its run started"
        assert client.cancel_job(job_id).view == job.view  # a repeated cancel: the same answer
        kinds = [e.kind for e in client.events(job_id)]
        assert kinds == ["job_queued", "cancel_requested", "run_ended", "job_finished"]
        again = client.retry_job(job_id)
        retried = client.job(again.job_id)
        assert retried.status == "queued" and retried.view["metadata"] == {
            "batch": 7,
            "retry_of": job_id,
        }
        assert [s.source for s in retried.sources] == [str(tmp_path / "r.jsonl")]
        with pytest.raises(Conflict, match="is queued: nothing to retry"):
            client.retry_job(again.job_id)
        for unknown in (client.cancel_job, client.retry_job):
            with pytest.raises(NotFound):
                unknown("no-such-job")


def _old_service(states: list[dict]) -> LocalServer:
    """A service without the event stream (404 there) whose job goes through ``states``."""
    lock = threading.Lock()

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            if self.path.endswith("/events"):
                return self.send_json(404, {"detail": "Not Found"})
            if self.path != "/ingest/jobs/j1":
                return self.send_json(404, {"detail": "no ingest job"})
            with lock:
                state = states.pop(0) if len(states) > 1 else states[0]
            self.send_json(200, {"job_id": "j1", "sources": [], **state})

    server = LocalServer(Handler)
    server.start()
    return server


def _state(status: str, done: int) -> dict:
    return {"status": status, "progress": {"documents_done": done, "documents_total": 4}}


def test_events_fall_back_to_polling_where_no_stream_comes_through():
    states = [
        _state("queued", 0),
        _state("running", 2),
        _state("running", 2),
        _state("succeeded", 4),
    ]
    server = _old_service(list(states))
    try:
        with CatalystClient(server.base) as client:
            events = list(client.events("j1", poll_interval_s=0.01))
            with pytest.raises(NotFound):
                list(client.events("unknown", poll_interval_s=0.01))

        async def follow() -> list:
            async with AsyncCatalystClient(server.base) as client:
                return [e async for e in client.events("j1", poll_interval_s=0.01)]

        server_states = states[-1:]  # the fake now answers its last state
        assert [(e.kind, e.data.get("status")) for e in asyncio.run(follow())] == [
            ("progress", server_states[0]["status"]),
            ("job_finished", "succeeded"),
        ]
    finally:
        server.stop()
    assert [(e.kind, e.data.get("done")) for e in events] == [
        ("progress", 0),
        ("progress", 2),
        ("progress", 4),
        ("job_finished", None),
    ]
    assert all(e.id == "" for e in events)


def test_a_cancel_sent_again_answers_the_view_however_the_job_ended(service, tmp_path):
    from catalyst_search.ingest_requests.sqlite_jobs import SqliteJobStore

    first, second = (write_jsonl(tmp_path / f"{n}.jsonl", icd_records(limit=1)) for n in "ab")
    with CatalystClient(service) as client:
        job_id = client.submit_ingest([str(first), str(second)]).job_id
        failed = str(first.resolve())  # one source failed before the cancel came
        SqliteJobStore(load_settings().jobs_db).run_finished(
            job_id, failed, status="failed", error="boom"
        )
        job = client.cancel_job(job_id)
        assert job.status == "failed"  # not cancelled: a source had failed
        assert client.cancel_job(job_id).view == job.view  # sent again: the same answer, no 409


def _deleting_service(slow_first: bool) -> LocalServer:
    """DELETE /admin/keys/k1 deletes the key; the first answer comes too late when asked."""
    state = {"keys": {"k1"}, "deletes": 0}

    class Handler(JsonHandler):
        def do_DELETE(self) -> None:
            state["deletes"] += 1
            if "k1" not in state["keys"]:
                return self.send_json(404, {"detail": "no API key k1"})
            state["keys"].discard("k1")
            if slow_first and state["deletes"] == 1:
                time.sleep(0.5)  # the client has given up on this answer
            self.send_response(204)
            self.end_headers()

    server = LocalServer(Handler)
    server.start()
    return server


def test_a_delete_tried_again_after_it_landed_takes_the_404_as_done():
    policy = RetryPolicy(attempts=3, backoff_s=0.01)
    server = _deleting_service(slow_first=True)
    try:
        with CatalystClient(server.base, timeout_s=0.2, retry=policy) as client:
            assert client.revoke_key("k1") is None  # the retry's 404: the first try did it
    finally:
        server.stop()
    server = _deleting_service(slow_first=False)
    try:
        with CatalystClient(server.base, retry=policy) as client:
            client.revoke_key("k1")
            with pytest.raises(NotFound):  # a first try's 404 is a 404
                client.revoke_key("k1")
    finally:
        server.stop()
