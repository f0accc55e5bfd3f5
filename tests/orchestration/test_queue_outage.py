"""Redis down: requests are accepted into the outbox and counted; once Redis is back they are
delivered, and each job runs once with no duplicate points, even when a message repeats."""

from __future__ import annotations

import logging
import time

import dagster as dg
from fastapi.testclient import TestClient

from catalyst_search.api.app import create_app
from catalyst_search.index.embedded.reader import EmbeddedReader
from catalyst_search.index.filters import FilterSpec
from catalyst_search.ingest_requests.contract import IngestMessage
from catalyst_search.ingest_requests.redis_queue import RedisQueue
from catalyst_search.settings import load_settings
from tests.conftest import icd_records, write_jsonl
from tests.helpers.services import free_port, private_redis
from tests.orchestration.test_ingest_requests import _run, _tick


def _metric(client: TestClient, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def test_outbox_holds_requests_through_a_redis_outage(catalyst_home, tmp_path, monkeypatch, caplog):
    port = free_port()  # nothing listens here yet: Redis is "down"
    monkeypatch.setenv("CATALYST_QUEUE", f"redis://127.0.0.1:{port}/0")
    monkeypatch.setenv("CATALYST_OUTBOX_DRAIN_S", "0.2")
    first = write_jsonl(tmp_path / "a.jsonl", icd_records(limit=6))
    second = write_jsonl(tmp_path / "b.jsonl", icd_records(prefix="E66", limit=4))
    caplog.set_level(logging.WARNING, logger="catalyst_search.dispatch")

    with TestClient(create_app(load_settings())) as api:
        jobs = [api.post("/ingest/bulk", json={"sources": [str(path)]}) for path in (first, second)]
        assert [r.status_code for r in jobs] == [202, 202]
        job_ids = [r.json()["job_id"] for r in jobs]
        assert _metric(api, "catalyst_ingest_dispatch_outages_total") == 2
        assert _metric(api, "catalyst_ingest_outbox_depth") == 2
        assert "catalyst_ingest_queue_up 0.0" in api.get("/metrics").text  # said, not just absent
        assert "kept in the outbox" in caplog.text
        assert api.get(f"/ingest/jobs/{job_ids[0]}").json()["status"] == "queued"
        # the background drain may run while Redis is down: the first delivery fails, and the
        # rest of what it claimed must not stay hidden for the claim's 30 s either
        assert api.app.state.dispatcher.drain() == 0

        with private_redis(port) as redis_client:  # Redis comes back
            deadline = time.monotonic() + 15
            while _metric(api, "catalyst_ingest_outbox_depth") and time.monotonic() < deadline:
                time.sleep(0.2)
            assert _metric(api, "catalyst_ingest_outbox_depth") == 0
            assert _metric(api, "catalyst_ingest_queue_up") == 1
            queue = RedisQueue(redis_client)
            assert queue.depth() == 2
            # the outbox replayed a message twice (a crash between publish and delete)
            queue.publish(IngestMessage(job_ids[0], "default", [str(first.resolve())]))

            with dg.instance_for_test() as instance:
                tick = _tick(instance)
                assert sorted(r.run_key for r in tick.run_requests) == sorted(
                    f"{job}:0" for job in job_ids
                )
                for request in tick.run_requests:
                    assert instance.has_dynamic_partition("ingest_batches", request.partition_key)
                    assert _run(instance, request).success
                after = _tick(instance, tick.cursor)
                assert after.run_requests == []
                assert len(instance.get_runs()) == 2  # one run per job, none for the repeat
            assert queue.depth() == 0
            # the job records were written to Redis on delivery, and updated by the runs
            statuses = [api.get(f"/ingest/jobs/{job}").json()["status"] for job in job_ids]
            assert statuses == ["succeeded", "succeeded"]

    reader = EmbeddedReader(load_settings().index_dir, refresh_s=0)
    try:
        assert reader.count(FilterSpec()) == 20  # 6 + 4 documents: a chunk and a heading each
    finally:
        reader.close()
