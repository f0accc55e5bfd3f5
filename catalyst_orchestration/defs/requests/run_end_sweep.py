"""Ended ingest runs whose job still waits on them: the ends the run-end sensors missed, and
announced retries that never started.

``run_ends.py`` records a run's end when its run-status sensor sees it, but such a sensor does
not see an event twice: a tick that failed (the job store down for a moment) moves past it,
and the job would show ``running`` for ever. And ``ingest_job_failures`` marks a source
``retrying`` when Dagster tags a failed run ``dagster/will_retry``; should the retry never come
(the daemon's run retries stopped, the launch failed), the job would show ``retrying`` for ever
and ``--wait`` would never return.

So this sensor looks at the failed and cancelled ingest runs last updated between
``LOOKBACK_S`` and ``GRACE_S`` ago, whatever their ``dagster/will_retry`` tag says now (Dagster
sets it to ``false`` when launching the retry raised): up to ``MAX_RUNS_PER_TICK`` a tick, going
on where the last tick stopped (its cursor) and starting over at the newest when it reaches
the end. A source still ``running`` on such a run, or still ``queued`` with no run recorded (the
run failed before its first step) and no retry of it, gets the end the sensor would have
recorded; a source still ``retrying`` on a failed run with no child run
(``dagster/parent_run_id``) is marked ``failed``, naming why.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import dagster as dg

from catalyst_orchestration.defs.jobs import ingest_job
from catalyst_orchestration.defs.requests.run_ends import failure_status, mark_run_end, source_of
from catalyst_orchestration.defs.resources import JobStoreResource, StateStoreResource
from catalyst_search.ingest_requests.contract import JOB_TAG
from catalyst_search.ingest_requests.jobs import Job, SourceRun

#: how long the run-end sensors and Dagster's retry may take (they act within seconds)
GRACE_S = 300.0
#: ended runs older than this are not looked at again
LOOKBACK_S = 24 * 3600.0
MAX_RUNS_PER_TICK = 1000
PAGE = 100


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _ended_runs(
    instance: dg.DagsterInstance, now: float, after: str | None
) -> tuple[list[dg.DagsterRun], str | None]:
    """Failed and cancelled ingest runs last updated between ``LOOKBACK_S`` and ``GRACE_S``
    ago, newest first from the one after ``after``, a page at a time, at most
    ``MAX_RUNS_PER_TICK``; and where the next tick goes on (None: from the newest again)."""
    filters = dg.RunsFilter(
        job_name=ingest_job.name,
        statuses=[dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED],
        updated_after=_at(now - LOOKBACK_S),
        updated_before=_at(now - GRACE_S),
    )
    runs: list[dg.DagsterRun] = []
    cursor = after
    while len(runs) < MAX_RUNS_PER_TICK:
        page = instance.get_runs(filters=filters, cursor=cursor, limit=PAGE)
        runs += page
        if len(page) < PAGE:
            return runs, None  # the end: the next tick starts over
        cursor = page[-1].run_id
    return runs, runs[-1].run_id


def _waiting_on(
    job: Job | None, source: str, run: dg.DagsterRun, instance: dg.DagsterInstance
) -> SourceRun | None:
    """The record of ``source`` if it still waits on ``run``: running on it, retrying on it, or
    queued with no run recorded and no retry of ``run`` started."""
    record = next((r for r in (job.runs if job else []) if r.source == source), None)
    if record is None:
        return None
    if record.run_id == run.run_id:
        return record
    if record.status == "queued" and record.run_id is None and not _retried(instance, run):
        return record
    return None


def _retried(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    children = instance.get_runs(
        filters=dg.RunsFilter(tags={"dagster/parent_run_id": run.run_id}), limit=1
    )
    return bool(children)


@dg.sensor(
    name="ingest_job_run_end_sweep",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records the end of failed or cancelled ingest runs that the run-end sensors "
    "missed, and fails the job of a run whose announced retry has not started within five "
    "minutes, so no job shows 'running' or 'retrying' for ever.",
)
def ingest_job_run_end_sweep(
    context: dg.SensorEvaluationContext, jobs: JobStoreResource, state: StateStoreResource
) -> dg.SensorResult:
    ended = stalled = 0
    runs, cursor = _ended_runs(context.instance, time.time(), context.cursor or None)
    for run in runs:
        job_id, partition = run.tags.get(JOB_TAG), run.tags.get("dagster/partition")
        if not (job_id and partition):
            continue
        job = jobs.jobs.get(job_id)
        source = source_of(state, job, partition)
        if source is None:
            continue
        record = _waiting_on(job, source, run, context.instance)
        if record is None:
            continue
        if record.status in ("queued", "running"):  # its run-status sensor's tick failed
            if run.status == dg.DagsterRunStatus.CANCELED:
                status, error = "cancelled", "the run was cancelled"
            else:
                status, error = failure_status(run, job, "the run failed")
            context.log.warning(f"job {job_id}: run {run.run_id} ended unrecorded; now {status}")
            marked = mark_run_end(
                context.instance, run, jobs, state, context.log, status=status, error=error
            )
            ended += marked is not None
            continue
        if record.status != "retrying" or run.status != dg.DagsterRunStatus.FAILURE:
            continue
        if _retried(context.instance, run):
            continue
        error = f"Dagster announced a retry of run {run.run_id} but did not start it"
        context.log.warning(f"job {job_id}: {error}")
        jobs.jobs.run_finished(job_id, source, status="failed", error=error)
        stalled += 1
    return dg.SensorResult(
        cursor=cursor or "",
        skip_reason=f"{ended} run ends recorded late; {stalled} jobs failed: their retry never "
        "started",
    )
