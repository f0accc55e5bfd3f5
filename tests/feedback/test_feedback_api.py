"""POST /feedback and GET /feedback/analytics through the live app, and the feedback_events
materialization: nothing posted is lost, a run killed before it acknowledges doubles nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import dagster as dg
import httpx
import pandas as pd
import pytest

from catalyst_orchestration.defs.feedback.automation import feedback_arrivals
from catalyst_orchestration.defs.resources import FeedbackStoreResource, ingest_resources
from catalyst_orchestration.lib.feedback_files import LocalDayFiles
from catalyst_search.feedback.factory import open_feedback
from catalyst_search.feedback.sqlite_store import SqliteFeedbackStore
from catalyst_search.settings import load_settings
from tests.client.test_sdk import _publish
from tests.feedback.test_stores import search, vote
from tests.helpers.live_app import live_app


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, dense, sparse):
    home = tmp_path_factory.mktemp("feedback")
    _publish(home, dense, sparse)
    return home


@pytest.fixture
def http(indexed, monkeypatch):
    monkeypatch.setenv("CATALYST_HOME", str(indexed))
    with live_app(load_settings()) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def test_feedback_names_a_result_of_the_callers_search_and_counts_once(http):
    found = http.post("/search", json={"query": "iodine deficiency", "top_k": 5}).json()
    first = found["results"][2]
    body = {"query_id": found["query_id"], "chunk_id": first["chunk_id"], "rating": -1}
    accepted = http.post("/feedback", json=body).json()
    assert accepted["recorded"] is True and accepted["rank"] == 3
    assert http.post("/feedback", json=body).json() == {**accepted, "recorded": False}
    click = {**body, "rating": 1, "event": "click"}
    assert http.post("/feedback", json=click).json()["recorded"] is True
    refusals = {
        422: [{**body, "rating": 0}, {**body, "rating": -1, "event": "click"},
              {"query_id": found["query_id"], "rating": 1},
              {**body, "chunk_id": "not-returned"}, {**body, "query_id": "xyz"},
              {**body, "comment": "x" * 1001}, {**body, "extra": 1}],
        404: [{**body, "query_id": "0" * 32}],
    }  # fmt: skip
    for status, bodies in refusals.items():
        for bad in bodies:
            assert http.post("/feedback", json=bad).status_code == status, bad


def test_analytics_add_up_the_events_bucket_by_bucket(http, indexed):
    store = SqliteFeedbackStore(indexed / "feedback.sqlite")
    t0 = datetime(2026, 3, 2, tzinfo=UTC).timestamp()  # a Monday
    tenant = {"tenant": "default"}
    store.log_searches([search("a", t0 + 60, **tenant), search("b", t0 + 120, results=0, **tenant),
                        search("c", t0 + 86400 + 60, **tenant),
                        search("d", t0 + 8 * 86400, **tenant)])  # fmt: skip
    for event in (
        vote("a", "d0", 1, t0 + 90, **tenant),
        vote("a", "d1", -1, t0 + 95, **tenant),
        vote("a", "d0", 1, t0 + 99, kind="click", **tenant),
        vote("c", "d2", -1, t0 + 86460, **tenant),
    ):
        store.add_feedback(event)  # fmt: skip
    span = {"from": "2026-03-02T00:00:00Z", "to": "2026-03-16T00:00:00Z"}
    days = http.get("/feedback/analytics", params={**span, "bucket": "day"}).json()
    by_day = {b["start"][:10]: b for b in days["buckets"]}
    assert by_day["2026-03-02"] == {
        "start": "2026-03-02T00:00:00+00:00", "searches": 2, "zero_results": 1, "feedback": 3,
        "positive": 2, "negative": 1, "clicks": 1, "positive_rate": 0.6667,
        "click_through_rate": 0.5, "zero_result_rate": 0.5,
    }  # fmt: skip
    assert (by_day["2026-03-03"]["searches"], by_day["2026-03-03"]["negative"]) == (1, 1)
    assert by_day["2026-03-10"]["searches"] == 1 and len(by_day) == 3
    weeks = http.get("/feedback/analytics", params={**span, "bucket": "week"}).json()
    assert [(b["start"][:10], b["searches"], b["feedback"]) for b in weeks["buckets"]] == [
        ("2026-03-02", 3, 4),
        ("2026-03-09", 1, 0),
    ]
    assert weeks["top_queries"][0] == {"query": "kidney disease", "searches": 4, "negative": 2}
    assert weeks["worst_queries"][0]["negative"] == 2
    hours = http.get("/feedback/analytics", params={**span, "bucket": "hour"}).json()
    assert hours["buckets"][0]["start"] == "2026-03-02T00:00:00+00:00"
    too_many = {"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z", "bucket": "hour"}
    assert http.get("/feedback/analytics", params=too_many).status_code == 422
    backwards = {"from": span["to"], "to": span["from"]}
    assert http.get("/feedback/analytics", params=backwards).status_code == 422


def test_feedback_events_drain_everything_and_a_killed_run_doubles_nothing(
    catalyst_home, monkeypatch
):
    store = open_feedback(load_settings())
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    now = time.time()
    for n in range(7):
        store.add_feedback(vote(f"q{n}", "d1", 1 if n % 2 else -1, now))
    real_ack = SqliteFeedbackStore.ack
    monkeypatch.setattr(SqliteFeedbackStore, "ack", lambda self, ids: (_ for _ in ()).throw(
        RuntimeError("killed before the acknowledgement")))  # fmt: skip
    from catalyst_orchestration.definitions import defs

    drain = defs().resolve_job_def("drain_feedback")
    with dg.instance_for_test() as instance:
        assert not drain.execute_in_process(
            instance=instance, partition_key=day, raise_on_error=False
        ).success
        assert store.pending_count() == 7  # written, not acknowledged: still in the log
        monkeypatch.setattr(SqliteFeedbackStore, "ack", real_ack)
        store.add_feedback(vote("late", "d2", 1, time.time()))
        with dg.build_sensor_context(instance=instance, resources=ingest_resources()) as ctx:
            monkeypatch.setenv("CATALYST_FEEDBACK_TUNE_EVENTS", "5")
            from catalyst_search.settings import get_settings

            get_settings.cache_clear()
            requested = feedback_arrivals(ctx)
        [request] = requested.run_requests
        assert request.partition_key == day
        tags = {"dagster/run_key": request.run_key}
        assert drain.execute_in_process(instance=instance, partition_key=day, tags=tags).success
        with dg.build_sensor_context(
            instance=instance, cursor=requested.cursor, resources=ingest_resources()
        ) as ctx:
            after = feedback_arrivals(ctx)  # its drain runs have finished: now tune
        assert [r.job_name for r in after.run_requests] == ["tune_relevance"]
    written = pd.read_parquet(LocalDayFiles(load_settings().artifacts_dir).path(day))
    assert len(written) == 8 and written["event_id"].is_unique
    assert store.pending_count() == 0


def test_the_nightly_drain_takes_yesterday_today_and_older_days_still_pending(catalyst_home):
    from catalyst_orchestration.defs.feedback.automation import nightly_drain

    at = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)

    def nightly() -> list[str | None]:
        resources = {"feedback": FeedbackStoreResource()}
        with dg.build_schedule_context(scheduled_execution_time=at, resources=resources) as ctx:
            return [r.partition_key for r in nightly_drain(ctx)]

    assert nightly() == ["2026-03-09", "2026-03-10"]
    store = open_feedback(load_settings())  # Dagster was down for three nights
    store.add_feedback(vote("q", "d1", 1, datetime(2026, 3, 6, 23, tzinfo=UTC).timestamp()))
    assert nightly() == ["2026-03-06", "2026-03-07", "2026-03-08", "2026-03-09", "2026-03-10"]
    store.add_feedback(vote("q0", "d1", 1, datetime(2026, 1, 20, tzinfo=UTC).timestamp()))
    days = nightly()  # a long backlog: its oldest days first, and yesterday and today always
    assert len(days) == 31 and days[:2] == ["2026-01-20", "2026-01-21"]
    assert days[-2:] == ["2026-03-09", "2026-03-10"]


def test_search_goes_on_when_the_feedback_store_cannot_be_read():
    from catalyst_search.feedback.boosts import BoostCache

    class Down:
        def live_version(self, tenant_id: str) -> str:
            raise ConnectionError("redis is down")

    cache = BoostCache(Down(), refresh_s=0)  # type: ignore[arg-type]
    assert cache.for_tenant("t") is None  # no boosts, no error
