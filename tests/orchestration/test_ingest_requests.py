"""POST /ingest/bulk -> queue -> sensor -> run -> job progress, with at-least-once delivery."""

from __future__ import annotations

import json
import logging
import socket
import uuid

import dagster as dg
import pytest
from fastapi.testclient import TestClient

from catalyst_orchestration.defs.acquisition.watching import allowed
from catalyst_orchestration.defs.requests import sensors
from catalyst_orchestration.defs.requests.run_ends import ingest_job_failures
from catalyst_orchestration.defs.requests.sensors import ingest_requests
from catalyst_orchestration.defs.resources import ingest_resources
from catalyst_orchestration.lib.failures import is_transient
from catalyst_search.api.app import create_app
from catalyst_search.ingest_requests.contract import SENSOR_NAME
from catalyst_search.ingest_requests.queue import SqliteQueue
from catalyst_search.ingest_requests.sources import check_source
from catalyst_search.ingest_requests.watches import Watch
from catalyst_search.outbound import ResolutionUnavailable
from catalyst_search.settings import load_settings
from tests.conftest import icd_records, write_jsonl
from tests.helpers.dns import resolver
from tests.orchestration.helpers import ASSETS


@pytest.fixture
def api(catalyst_home):
    with TestClient(create_app(load_settings())) as client:
        yield client


def _tick(instance, cursor=None):
    """One sensor evaluation, resources set up and torn down around it as the daemon does."""
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources=ingest_resources()
    ) as context:
        return ingest_requests(context)


def _run(instance, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    """Execute a sensor's run request the way the daemon would, tags included."""
    tags = {
        **request.tags,
        "dagster/run_key": request.run_key,
        "dagster/sensor_name": SENSOR_NAME,
    }
    return dg.materialize(
        ASSETS,
        instance=instance,
        partition_key=request.partition_key,
        tags=tags,
        resources=ingest_resources(),
    )


@pytest.mark.parametrize(
    "sources, fragment",
    [
        (["relative/path"], "absolute path"),
        (["{tmp}/missing/corpus"], "does not exist"),
        (["/etc"], "outside the source roots"),
        (["{tmp}/../../etc"], "outside the source roots"),
        ([], "sources"),
        (["{tmp}/" + "a" * 300], "not a usable path (File name too long)"),  # not a 500
    ],
)
def test_bulk_rejects_bad_sources(api, tmp_path, sources, fragment):
    sources = [s.format(tmp=tmp_path) for s in sources]
    response = api.post("/ingest/bulk", json={"sources": sources})
    assert response.status_code == 422
    assert fragment in json.dumps(response.json())


def test_a_source_behind_a_loop_of_symlinks_is_refused_not_a_500(api, tmp_path):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    response = api.post("/ingest/bulk", json={"sources": [str(tmp_path / "loop" / "x")]})
    assert response.status_code == 422 and "not a usable path" in response.text


def test_a_message_that_cannot_be_handled_holds_up_no_other_and_fails_its_job_in_the_end(
    api, tmp_path, monkeypatch
):
    monkeypatch.setattr(sensors, "VISIBILITY_S", 0.0)  # every tick redelivers unacked messages
    good = write_jsonl(tmp_path / "good.jsonl", icd_records(limit=2))
    bad = write_jsonl(tmp_path / "bad.jsonl", icd_records(limit=2))
    bad_job = api.post("/ingest/bulk", json={"sources": [str(bad)]}).json()["job_id"]
    good_job = api.post("/ingest/bulk", json={"sources": [str(good)]}).json()["job_id"]
    register = sensors.register_source

    def breaks_on_bad(instance, store, *, tenant_id, uri):  # e.g. a state store error
        if uri == str(bad):
            raise RuntimeError("the state store broke")
        return register(instance, store, tenant_id=tenant_id, uri=uri)

    monkeypatch.setattr(sensors, "register_source", breaks_on_bad)
    with dg.instance_for_test() as instance:
        first = _tick(instance)
        assert [r.tags["catalyst/job_id"] for r in first.run_requests] == [good_job]
        cursor = first.cursor
        for _ in range(sensors.MAX_DELIVERIES - 1):  # delivered again: still in the queue
            assert bad_job not in json.dumps(json.loads(cursor)["pending"])
            cursor = _tick(instance, cursor).cursor
        assert api.get(f"/ingest/jobs/{bad_job}").json()["status"] == "failed"
        (run,) = api.get(f"/ingest/jobs/{bad_job}").json()["sources"]
        assert "could not be requested after 5 tries" in run["error"]
        assert "the state store broke" in run["error"]
        _tick(instance, cursor)  # acknowledged: only the good job's message is left
        assert SqliteQueue(load_settings().queue_db).depth() == 1


def test_unknown_job_is_404(api):
    assert api.get("/ingest/jobs/nope").status_code == 404
    assert api.get(f"/ingest/jobs/{uuid.uuid4().hex}").status_code == 404


def test_bulk_request_becomes_one_run_and_a_finished_job(api, tmp_path, monkeypatch):
    monkeypatch.setattr(sensors, "VISIBILITY_S", 0.0)  # every tick redelivers unacked messages
    source = write_jsonl(tmp_path / "records.jsonl", icd_records(limit=12))
    accepted = api.post("/ingest/bulk", json={"sources": [str(source)], "metadata": {"by": "t"}})
    assert accepted.status_code == 202
    job_id = accepted.json()["job_id"]
    assert api.get(f"/ingest/jobs/{job_id}").json()["status"] == "queued"

    ready = api.get("/readyz").json()
    assert ready["ingestion_dispatch"] == "degraded"  # no sensor has ticked yet
    assert "daemon" in ready["ingestion_detail"]

    with dg.instance_for_test() as instance:
        first = _tick(instance)
        assert api.get("/readyz").json()["ingestion_dispatch"] == "ok"
        assert len(first.run_requests) == 1
        request = first.run_requests[0]
        assert request.run_key == f"{job_id}:0"
        assert request.tags["catalyst/job_id"] == job_id
        assert request.tags["catalyst/tenant"] == "default"  # the run carries its job's tenant
        # the sensor registered the source and its partition
        assert instance.has_dynamic_partition("ingest_batches", request.partition_key)

        # not yet run: the message is redelivered, with the same run key (no second run)
        again = _tick(instance, first.cursor)
        assert [r.run_key for r in again.run_requests] == [request.run_key]
        assert SqliteQueue(load_settings().queue_db).depth() == 1

        assert _run(instance, request).success
        done = _tick(instance, again.cursor)
        assert done.run_requests == []
        assert SqliteQueue(load_settings().queue_db).depth() == 0  # acknowledged
        assert json.loads(done.cursor) == {"pending": {}}

    job = api.get(f"/ingest/jobs/{job_id}").json()
    assert job["status"] == "succeeded"
    assert job["progress"] == {"documents_done": 12, "documents_total": 12, "percent": 100.0}
    run = job["sources"][0]
    assert run["run_id"] and run["run_url"].endswith(run["run_id"])
    assert run["attempts"] == 1 and run["failures"] == []
    assert run["artifact_uris"][0].startswith("file://")
    assert job["metadata"] == {"by": "t"}


def test_a_failed_run_marks_its_job_failed(api, tmp_path):
    """The run failure sensor finds the job by the run's tag and the source by its partition."""
    source = write_jsonl(tmp_path / "records.jsonl", icd_records(limit=3))
    job_id = api.post("/ingest/bulk", json={"sources": [str(source)]}).json()["job_id"]
    with dg.instance_for_test() as instance:
        request = _tick(instance).run_requests[0]
        source.unlink()  # the source vanishes before the run: a permanent failure
        tags = {**request.tags, "dagster/run_key": request.run_key}
        failed = dg.materialize(
            ASSETS,
            instance=instance,
            partition_key=request.partition_key,
            tags=tags,
            resources=ingest_resources(),
            raise_on_error=False,
        )
        assert not failed.success
        run = instance.get_run_by_id(failed.run_id)
        failure = next(e for e in failed.all_events if e.event_type_value == "PIPELINE_FAILURE")
        with dg.build_run_status_sensor_context(
            sensor_name="ingest_job_failures",
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=run,
            resources=ingest_resources(),
        ) as context:
            ingest_job_failures(context.for_run_failure())
    job = api.get(f"/ingest/jobs/{job_id}").json()
    assert job["status"] == "failed"
    assert job["sources"][0]["error"]


def test_a_cancel_that_comes_after_the_index_was_published_leaves_the_source_succeeded(
    api, tmp_path, monkeypatch
):
    from catalyst_orchestration.defs.indexing import assets
    from catalyst_search.ingest_requests.sqlite_jobs import SqliteJobStore

    source = write_jsonl(tmp_path / "r.jsonl", icd_records(limit=3))
    job_id = api.post("/ingest/bulk", json={"sources": [str(source)]}).json()["job_id"]
    index_batch = assets.index_batch

    def cancelled_as_it_publishes(*args, **kwargs):
        outcome = index_batch(*args, **kwargs)  # published: the documents are searchable
        SqliteJobStore(load_settings().jobs_db).cancel(job_id)
        return outcome

    monkeypatch.setattr(assets, "index_batch", cancelled_as_it_publishes)
    with dg.instance_for_test() as instance:
        assert _run(instance, _tick(instance).run_requests[0]).success
    job = api.get(f"/ingest/jobs/{job_id}").json()
    assert job["sources"][0]["status"] == "succeeded" and job["status"] == "succeeded"
    assert api.post("/search", json={"query": icd_records(limit=1)[0]["text"]}).json()["results"]


def test_a_job_cancelled_while_queued_gets_no_run_and_its_message_is_acknowledged(api, tmp_path):
    source = write_jsonl(tmp_path / "r.jsonl", icd_records(limit=2))
    job_id = api.post("/ingest/bulk", json={"sources": [str(source)]}).json()["job_id"]
    assert api.post(f"/ingest/jobs/{job_id}/cancel").json()["status"] == "cancelled"
    queue = SqliteQueue(load_settings().queue_db)
    with dg.instance_for_test() as instance:
        cursor = None
        for _ in range(2):  # the second tick acknowledges what the first claimed
            with dg.build_sensor_context(
                instance=instance, cursor=cursor, resources=ingest_resources()
            ) as context:
                result = ingest_requests(context)
                assert not result.run_requests
                cursor = result.cursor
        assert instance.get_runs() == []
    assert queue.depth() == 0
    job = api.get(f"/ingest/jobs/{job_id}").json()
    assert job["status"] == "cancelled" and job["sources"][0]["run_id"] is None


def test_a_source_the_dns_cannot_resolve_at_the_tick_still_gets_its_run(api, monkeypatch):
    """The API checked the web source when the job came in. The DNS failing when the sensor
    checks it again is no reason to fail the job: the run is requested, and its acquisition
    step checks the source again and retries while the DNS fails (a transient error)."""
    resolver(monkeypatch, {"docs.example.org": "93.184.216.34"})
    accepted = api.post("/ingest/bulk", json={"sources": ["https://docs.example.org/page"]})
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    resolver(monkeypatch, {"docs.example.org": socket.EAI_AGAIN})
    with pytest.raises(ResolutionUnavailable):  # what the acquisition step meets: retried
        check_source("https://docs.example.org/page", rules=load_settings().source_rules("default"))
    assert is_transient(ResolutionUnavailable("docs.example.org: cannot be resolved now"))
    with dg.instance_for_test() as instance:
        result = _tick(instance)
        assert [r.run_key for r in result.run_requests] == [f"{job_id}:0"]
    job = api.get(f"/ingest/jobs/{job_id}").json()
    assert job["status"] != "failed" and job["sources"][0]["status"] != "failed", job
    # a watched web source is synced all the same (its next look would be a day later)
    watch = Watch("w1", "default", "https://docs.example.org/page", 0.0)
    assert allowed([watch], load_settings(), logging.getLogger("test")) == [watch]
