"""Runs that end badly mark their job honestly: ``retrying`` while Dagster will retry the run,
``failed`` only with no retry left, ``cancelled`` for a cancelled run, and news of an older
attempt never overwrites the attempt that replaced it."""

from __future__ import annotations

import time
from typing import Any

import dagster as dg
import pytest

from catalyst_orchestration.definitions import defs
from catalyst_orchestration.defs.partitions import register_source
from catalyst_orchestration.defs.requests.run_ends import (
    ingest_job_cancellations,
    ingest_job_failures,
)
from catalyst_orchestration.defs.resources import ingest_resources
from catalyst_orchestration.lib.state import StateStore
from catalyst_search.ingest_requests.contract import JOB_TAG
from catalyst_search.ingest_requests.jobs import TERMINAL
from catalyst_search.ingest_requests.sqlite_jobs import SqliteJobStore
from catalyst_search.settings import load_settings
from tests.conftest import icd_records, write_jsonl

RETRIES = {"run_retries": {"enabled": True, "max_retries": 2}}


@pytest.fixture
def job(catalyst_home, tmp_path):
    """A job with one source, registered as the sensor would; yields (store, source uri)."""
    settings = load_settings()
    store = SqliteJobStore(settings.jobs_db)
    uri = str(write_jsonl(tmp_path / "r.jsonl", icd_records(limit=1)).resolve())
    store.create(job_id="j1", tenant_id="default", sources=[uri], metadata={})
    yield store, uri


def _run(instance: dg.DagsterInstance, uri: str, **lineage: str) -> dg.DagsterRun:
    """A run of the ingest job for ``uri``'s partition, as the sensor would request it."""
    source = register_source(
        instance, StateStore(load_settings().state_db), tenant_id="default", uri=uri
    )
    return instance.create_run_for_job(
        job_def=defs().resolve_job_def("ingest"),
        tags={JOB_TAG: "j1", "dagster/partition": source.partition_key},
        **lineage,
    )


def _seen_by(sensor: str, instance: dg.DagsterInstance, run: dg.DagsterRun, event: Any) -> Any:
    """The run status sensor ``sensor``'s context for ``event`` of ``run``, as the daemon builds
    it (the run read back, with the tags Dagster added)."""
    return dg.build_run_status_sensor_context(
        sensor_name=sensor,
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(run.run_id),
        resources=ingest_resources(),
    )


def _failed(instance: dg.DagsterInstance, run: dg.DagsterRun) -> None:
    """Report ``run`` failed and let the failure sensor see it, as the daemon would."""
    event = instance.report_run_failed(run)
    with _seen_by("ingest_job_failures", instance, run, event) as context:
        ingest_job_failures(context.for_run_failure())


def _cancelled(instance: dg.DagsterInstance, run: dg.DagsterRun) -> None:
    """Report ``run`` cancelled and let the cancellation sensor see it, as the daemon would."""
    event = instance.report_run_canceled(run)
    with _seen_by("ingest_job_cancellations", instance, run, event) as context:
        ingest_job_cancellations(context)


def test_a_run_dagster_will_retry_marks_its_job_retrying_not_failed(job):
    store, uri = job
    with dg.instance_for_test(overrides=RETRIES) as instance:
        run = _run(instance, uri)
        store.run_started("j1", uri, run_id=run.run_id)
        _failed(instance, run)
        assert instance.get_run_by_id(run.run_id).tags["dagster/will_retry"] == "true"
    state = store.get("j1")
    assert state is not None and state.status == "retrying" and state.status not in TERMINAL
    assert state.runs[0].attempts == 1 and "Dagster retries the run" in (state.runs[0].error or "")


def test_with_no_retry_left_the_job_fails(job):
    store, uri = job
    with dg.instance_for_test(overrides={"run_retries": {"enabled": False}}) as instance:
        run = _run(instance, uri)
        store.run_started("j1", uri, run_id=run.run_id)
        _failed(instance, run)
    state = store.get("j1")
    assert state is not None and state.status == "failed" and state.status in TERMINAL


def test_a_run_whose_source_was_retired_meanwhile_still_ends_its_job(job):
    store, uri = job
    with dg.instance_for_test(overrides={"run_retries": {"enabled": False}}) as instance:
        run = _run(instance, uri)
        store.run_started("j1", uri, run_id=run.run_id)
        StateStore(load_settings().state_db).unregister_source(run.tags["dagster/partition"])
        _failed(instance, run)
    state = store.get("j1")
    assert state is not None and state.status == "failed"


def test_news_of_a_failed_attempt_does_not_overwrite_its_running_retry(job):
    """The sensor can tick after Dagster has already started the retry."""
    store, uri = job
    with dg.instance_for_test(overrides=RETRIES) as instance:
        first = _run(instance, uri)
        store.run_started("j1", uri, run_id=first.run_id)
        retry = _run(instance, uri, parent_run_id=first.run_id, root_run_id=first.run_id)
        store.run_started("j1", uri, run_id=retry.run_id)
        _failed(instance, first)
        assert store.get("j1").status == "running"  # type: ignore[union-attr]
        again = _run(instance, uri, parent_run_id=retry.run_id, root_run_id=first.run_id)
        store.run_started("j1", uri, run_id=again.run_id)
        _failed(instance, retry)  # its parent's news
        _failed(instance, first)  # its root's news, two retries back
    state = store.get("j1")
    assert state is not None and state.status == "running"
    assert (state.runs[0].run_id, state.runs[0].attempts) == (again.run_id, 3)


def test_a_cancelled_run_marks_its_job_cancelled(job):
    store, uri = job
    with dg.instance_for_test() as instance:
        run = _run(instance, uri)
        store.run_started("j1", uri, run_id=run.run_id)
        _cancelled(instance, run)
    state = store.get("j1")
    assert state is not None and state.status == "cancelled" and state.status in TERMINAL


def test_a_retry_that_never_starts_fails_the_job_after_the_grace(job, monkeypatch):
    from catalyst_orchestration.defs.requests import run_end_sweep

    store, uri = job
    with dg.instance_for_test(overrides=RETRIES) as instance:
        run = _run(instance, uri)
        store.run_started("j1", uri, run_id=run.run_id)
        _failed(instance, run)
        assert store.get("j1").status == "retrying"

        def tick() -> None:
            with dg.build_sensor_context(instance=instance, resources=ingest_resources()) as ctx:
                run_end_sweep.ingest_job_run_end_sweep(ctx)

        tick()  # within the grace: Dagster may still start it
        assert store.get("j1").status == "retrying"
        monkeypatch.setattr(run_end_sweep, "GRACE_S", -60.0)
        retry = _run(instance, uri, parent_run_id=run.run_id, root_run_id=run.run_id)
        instance.add_run_tags(retry.run_id, {"dagster/parent_run_id": run.run_id})
        tick()  # its retry exists: not stalled
        assert store.get("j1").status == "retrying"
        instance.delete_run(retry.run_id)
        # Dagster's launch of the retry raised: it sets the tag to false, and the job still
        # says retrying (the very case the sensor is for)
        instance.add_run_tags(run.run_id, {"dagster/will_retry": "false"})
        tick()
    state = store.get("j1")
    assert state.status == "failed"
    assert "did not start it" in state.runs[0].error


@pytest.mark.parametrize(
    "end, started, retired",
    [("failed", True, False), ("cancelled", True, False), ("failed", False, False),
     ("failed", True, True)],
)  # fmt: skip
def test_a_run_end_the_sensors_missed_is_recorded_by_the_sweep(
    job, monkeypatch, end, started, retired
):
    """A run-status sensor moves past an event its failed tick did not record; a run may also
    fail before its first step has recorded it (the source is still queued), or its source
    may have been retired meanwhile (``retire_source``)."""
    from catalyst_orchestration.defs.requests import run_end_sweep

    store, uri = job
    with dg.instance_for_test(overrides={"run_retries": {"enabled": False}}) as instance:
        run = _run(instance, uri)
        if retired:
            StateStore(load_settings().state_db).unregister_source(run.tags["dagster/partition"])
        if started:
            store.run_started("j1", uri, run_id=run.run_id)
        if end == "failed":
            instance.report_run_failed(run)  # (no sensor sees it)
        else:
            instance.report_run_canceled(run)

        def tick() -> None:
            with dg.build_sensor_context(instance=instance, resources=ingest_resources()) as ctx:
                run_end_sweep.ingest_job_run_end_sweep(ctx)

        tick()  # within the grace: the sensors may still record it
        waiting = "running" if started else "queued"
        assert store.get("j1").status == waiting  # type: ignore[union-attr]
        monkeypatch.setattr(run_end_sweep, "GRACE_S", -60.0)
        tick()
        state = store.get("j1")
        assert state is not None and state.status == end and state.status in TERMINAL
        tick()  # recorded once: the source no longer waits on the run
        assert store.get("j1") == state


def test_a_run_stopped_after_its_source_published_leaves_the_source_succeeded(job):
    """The cancel sensor may terminate a run between its publish and its end."""
    store, uri = job
    with dg.instance_for_test() as instance:
        run = _run(instance, uri)
        store.run_started("j1", uri, run_id=run.run_id)
        store.run_finished("j1", uri, status="succeeded", failures=[])  # published
        _cancelled(instance, run)
    state = store.get("j1")
    assert state is not None and state.status == "succeeded"


def test_the_sweep_goes_on_where_its_last_tick_stopped(job, monkeypatch):
    from catalyst_orchestration.defs.requests import run_end_sweep

    _, uri = job
    monkeypatch.setattr(run_end_sweep, "GRACE_S", -60.0)
    monkeypatch.setattr(run_end_sweep, "MAX_RUNS_PER_TICK", 2)
    monkeypatch.setattr(run_end_sweep, "PAGE", 2)
    with dg.instance_for_test() as instance:
        runs = [_run(instance, uri) for _ in range(5)]
        for run in runs:
            instance.report_run_failed(run)
        newest_first = [run.run_id for run in reversed(runs)]
        seen, cursor = [], None
        for _ in range(3):
            page, cursor = run_end_sweep._ended_runs(instance, time.time(), cursor)  # noqa: SLF001
            seen += [run.run_id for run in page]
        assert seen == newest_first and cursor is None  # all five, then from the newest again
