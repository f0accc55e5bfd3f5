"""Job events over Server-Sent Events, through the SDK against the live app: streamed while the
run happens (a retried step, a failed document), resumed from Last-Event-ID, the same for the
async client; heartbeats on a quiet stream; 404 for another tenant's job; a cap per tenant."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass

import dagster as dg
import httpx
import pytest

from catalyst_search.api.routes import job_events
from catalyst_search.client import AsyncCatalystClient, CatalystClient, JobEvent, NotFound, streams
from catalyst_search.ingest_requests.sqlite_jobs import SqliteJobStore
from catalyst_search.settings import load_settings
from tests.conftest import icd_records
from tests.helpers.environment import catalyst_environment
from tests.helpers.live_app import live_app
from tests.helpers.tokens import SECRET, claims, hs256
from tests.orchestration.helpers import dispatch_and_run

RECORDS = 6


@dataclass
class Streamed:
    url: str
    job_id: str
    events: list[JobEvent]  # as the stream delivered them while the run happened


@pytest.fixture(scope="module")
def streamed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("events")
    with catalyst_environment(tmp):
        source = tmp / "records.jsonl"
        lines = [json.dumps(r) for r in icd_records(limit=RECORDS)] + ['{"id": "broken"']
        source.write_text("\n".join(lines) + "\n")
        with live_app(load_settings()) as url, CatalystClient(url) as client:
            job_id = client.submit_ingest([str(source)]).job_id
            seen: list[JobEvent] = []
            follower = threading.Thread(target=lambda: seen.extend(client.events(job_id)))
            follower.start()  # following before any run exists
            with dg.instance_for_test() as instance:
                dispatch_and_run(instance)
            follower.join(timeout=60)
            assert not follower.is_alive(), "the stream did not end after job_finished"
            yield Streamed(url, job_id, seen)


def test_the_stream_tells_the_job_as_it_happens(streamed):
    kinds = [event.kind for event in streamed.events]
    assert kinds[0] == "job_queued" and kinds[-1] == "job_finished"
    assert kinds.index("run_started") < kinds.index("step_retried") < kinds.index("progress")
    assert streamed.events[-1].data == {"status": "completed_with_errors"}
    (failed,) = [e for e in streamed.events if e.kind == "document_failed"]
    assert failed.data["error"] == "MalformedRecord" and failed.data["attempts"] == 1
    (ended,) = [e for e in streamed.events if e.kind == "run_ended"]
    assert ended.data["status"] == "succeeded" and ended.data["failures"] == 1
    progress = [e.data["done"] for e in streamed.events if e.kind == "progress"]
    assert progress == sorted(progress) and progress[-1] == RECORDS + 1
    assert all(e.at > 0 for e in streamed.events)


def test_a_stream_resumes_after_the_last_event_seen(streamed):
    with CatalystClient(streamed.url) as client:
        again = list(client.events(streamed.job_id))  # a finished job: the whole story at once
        resumed = list(client.events(streamed.job_id, last_event_id=again[2].id))
    assert [e.id for e in again] == [e.id for e in streamed.events]
    assert [e.id for e in resumed] == [e.id for e in again[3:]]


def test_the_async_client_streams_the_same_events(streamed):
    async def follow() -> list[str]:
        async with AsyncCatalystClient(streamed.url) as client:
            return [event.id async for event in client.events(streamed.job_id)]

    assert asyncio.run(follow()) == [e.id for e in streamed.events]


def test_an_unknown_job_has_no_stream(streamed):
    with CatalystClient(streamed.url) as client, pytest.raises(NotFound):
        list(client.events("no-such-job"))


@pytest.fixture
def guarded(catalyst_home, tmp_path):
    """A service with JWT auth and one queued job of tenant t1 (no daemon: it stays queued)."""
    source = tmp_path / "r.jsonl"
    source.write_text(json.dumps(icd_records(limit=1)[0]) + "\n")
    settings = load_settings(auth="jwt", jwt_secret=SECRET)
    with live_app(settings) as url:
        t1, t2 = (
            {"Authorization": f"Bearer {hs256(claims(t, ('ingest',), aud=None, iss=None))}"}
            for t in ("t1", "t2")
        )
        accepted = httpx.post(f"{url}/ingest/bulk", json={"sources": [str(source)]}, headers=t1)
        yield url, accepted.json()["job_id"], t1, t2


def test_another_tenants_job_answers_404_like_an_unknown_one(guarded):
    url, job_id, _, t2 = guarded
    theirs = httpx.get(f"{url}/ingest/jobs/{job_id}/events", headers=t2)
    unknown = httpx.get(f"{url}/ingest/jobs/unknown/events", headers=t2)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["detail"].replace(job_id, "X") == unknown.json()["detail"].replace(
        "unknown", "X"
    )
    assert httpx.get(f"{url}/ingest/jobs/{job_id}/events").status_code == 401


def test_a_quiet_stream_has_heartbeats_and_streams_are_capped(guarded, monkeypatch):
    url, job_id, t1, _ = guarded
    monkeypatch.setattr(job_events, "HEARTBEAT_S", 0.2)
    monkeypatch.setattr(job_events, "MAX_STREAMS_PER_TENANT", 1)
    lines = []
    with httpx.stream("GET", f"{url}/ingest/jobs/{job_id}/events", headers=t1) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            lines.append(line)
            if line == ": heartbeat":
                second = httpx.get(f"{url}/ingest/jobs/{job_id}/events", headers=t1)
                assert second.status_code == 429 and second.headers["retry-after"]
                break
    assert "event: job_queued" in lines and ": heartbeat" in lines


def test_a_client_that_leaves_gives_its_stream_slot_back(guarded, monkeypatch):
    url, job_id, t1, _ = guarded
    monkeypatch.setattr(job_events, "MAX_STREAMS_PER_TENANT", 1)
    with httpx.stream("GET", f"{url}/ingest/jobs/{job_id}/events", headers=t1) as stream:
        next(stream.iter_lines())  # connected; then the client goes away
    answers = []
    for _ in range(30):  # the server notices the disconnect within its next poll
        with httpx.stream("GET", f"{url}/ingest/jobs/{job_id}/events", headers=t1) as again:
            answers.append(again.status_code)
        if answers[-1] == 200:
            break
        time.sleep(0.1)
    assert answers[-1] == 200, answers


def test_a_finished_job_without_its_last_event_still_ends_its_stream(guarded, monkeypatch):
    """A job recorded before events were kept has no job_finished: one is sent from its status."""
    url, job_id, t1, _ = guarded
    monkeypatch.setattr(job_events, "SETTLED_S", 0.0)
    store = SqliteJobStore(load_settings().jobs_db)
    (source,) = store.get(job_id).sources
    store._update(job_id, source, status="succeeded")  # noqa: SLF001 (no events, as before)
    with CatalystClient(url, token=t1["Authorization"].split()[1]) as client:
        events = list(client.events(job_id))
    assert [e.kind for e in events] == ["job_queued", "job_finished"]
    assert events[-1].data == {"status": "succeeded"} and events[-1].id == events[0].id


def test_a_bad_last_event_id_is_refused(guarded):
    url, job_id, t1, _ = guarded
    for bad in ("²".encode(), b"1" * 30, b"x-1", b"1-2-3"):
        answer = httpx.get(
            f"{url}/ingest/jobs/{job_id}/events", headers={**t1, "Last-Event-ID": bad}
        )
        assert answer.status_code == 422, bad


def test_the_sse_parser_follows_the_spec_where_it_matters():
    parser = streams.SseParser()
    lines = ["id: 7", "event: progress", 'data: {"at": 1.5,', 'data: "done": 3}', ""]
    lines += [": heartbeat", "event: job_finished", 'data: {"status": "succeeded"}', ""]
    lines += ["data: <html>", ""]
    events = [e for e in map(parser.feed, lines) if e is not None]
    assert [(e.id, e.kind, e.at, e.data) for e in events] == [
        ("7", "progress", 1.5, {"done": 3}),
        ("7", "job_finished", 0.0, {"status": "succeeded"}),  # no id: keeps the last one
    ]
    page = httpx.Response(200, headers={"content-type": "text/html"}, text="<html>")
    assert streams.event_stream_error(page) is not None
    stream = httpx.Response(200, headers={"content-type": "text/event-stream; charset=utf-8"})
    assert streams.event_stream_error(stream) is None
