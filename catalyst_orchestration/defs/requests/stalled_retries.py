"""A run Dagster said it would retry, whose retry never started, fails its job after a grace.

``ingest_job_failures`` marks a source ``retrying`` when Dagster tags a failed run
``dagster/will_retry``. Should the retry never come (the daemon's run retries stopped, the
launch failed), the job would show ``retrying`` for ever and ``--wait`` would never return. This
sensor looks at such runs once the grace has passed: with no child run (``dagster/parent_run_id``)
and the source still ``retrying`` on that run, the source is marked ``failed``, naming why.
It looks at every failed ingest run of the window, whatever its ``dagster/will_retry`` tag says
now: Dagster sets the tag to ``false`` when its attempt to launch the retry raised, which is
the very case this sensor is for.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import dagster as dg

from catalyst_orchestration.defs.jobs import ingest_job
from catalyst_orchestration.defs.resources import JobStoreResource, StateStoreResource
from catalyst_search.ingest_requests.contract import JOB_TAG

#: how long Dagster may take to start an announced retry (its daemon retries within seconds)
GRACE_S = 300.0
#: failed runs older than this are not looked at again
LOOKBACK_S = 24 * 3600.0
MAX_RUNS_PER_TICK = 1000
PAGE = 100


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _failed_runs(instance: dg.DagsterInstance, now: float) -> list[dg.DagsterRun]:
    """Failed ingest runs last updated between ``LOOKBACK_S`` and ``GRACE_S`` ago, newest
    first, a page at a time, at most ``MAX_RUNS_PER_TICK``."""
    filters = dg.RunsFilter(
        job_name=ingest_job.name,
        statuses=[dg.DagsterRunStatus.FAILURE],
        updated_after=_at(now - LOOKBACK_S),
        updated_before=_at(now - GRACE_S),
    )
    runs: list[dg.DagsterRun] = []
    cursor = None
    while len(runs) < MAX_RUNS_PER_TICK:
        page = instance.get_runs(filters=filters, cursor=cursor, limit=PAGE)
        runs += page
        if len(page) < PAGE:
            break
        cursor = page[-1].run_id
    return runs[:MAX_RUNS_PER_TICK]


@dg.sensor(
    name="ingest_job_stalled_retries",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Fails the ingest job of a run Dagster said it would retry when the retry has "
    "not started within five minutes, so no job shows 'retrying' for ever.",
)
def ingest_job_stalled_retries(
    context: dg.SensorEvaluationContext, jobs: JobStoreResource, state: StateStoreResource
) -> dg.SkipReason:
    now = time.time()
    failed = 0
    for run in _failed_runs(context.instance, now):
        job_id, partition = run.tags.get(JOB_TAG), run.tags.get("dagster/partition")
        if not (job_id and partition):
            continue
        try:
            source = state.store.source(partition).uri
        except KeyError:
            continue
        job = jobs.jobs.get(job_id)
        waiting = [
            r for r in (job.runs if job else []) if r.source == source and r.run_id == run.run_id
        ]
        if not waiting or waiting[0].status != "retrying":
            continue
        retried = context.instance.get_runs(
            filters=dg.RunsFilter(tags={"dagster/parent_run_id": run.run_id}), limit=1
        )
        if retried:
            continue
        error = f"Dagster announced a retry of run {run.run_id} but did not start it"
        context.log.warning(f"job {job_id}: {error}")
        jobs.jobs.run_finished(job_id, source, status="failed", error=error)
        failed += 1
    return dg.SkipReason(f"{failed} jobs failed: their announced retry never started")
