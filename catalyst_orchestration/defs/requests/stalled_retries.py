"""A run Dagster said it would retry, whose retry never started, fails its job after a grace.

``ingest_job_failures`` marks a source ``retrying`` when Dagster tags a failed run
``dagster/will_retry``. Should the retry never come (the daemon's run retries stopped, the
launch failed), the job would show ``retrying`` for ever and ``--wait`` would never return. This
sensor looks at such runs once the grace has passed: with no child run (``dagster/parent_run_id``)
and the source still ``retrying`` on that run, the source is marked ``failed``, naming why.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import dagster as dg

from catalyst_orchestration.defs.requests.run_ends import WILL_RETRY_TAG
from catalyst_orchestration.defs.resources import JobStoreResource, StateStoreResource
from catalyst_search.ingest_requests.contract import JOB_TAG

#: how long Dagster may take to start an announced retry (its daemon retries within seconds)
GRACE_S = 300.0
#: failed runs older than this are not looked at again
LOOKBACK_S = 24 * 3600.0
MAX_RUNS_PER_TICK = 100


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


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
    runs = context.instance.get_runs(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.FAILURE],
            tags={WILL_RETRY_TAG: "true"},
            updated_after=_at(now - LOOKBACK_S),
            updated_before=_at(now - GRACE_S),
        ),
        limit=MAX_RUNS_PER_TICK,
    )
    failed = 0
    for run in runs:
        job_id, partition = run.tags.get(JOB_TAG), run.tags.get("dagster/partition")
        if not (job_id and partition):
            continue
        retried = context.instance.get_runs(
            filters=dg.RunsFilter(tags={"dagster/parent_run_id": run.run_id}), limit=1
        )
        if retried:
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
        error = f"Dagster announced a retry of run {run.run_id} but did not start it"
        context.log.warning(f"job {job_id}: {error}")
        jobs.jobs.run_finished(job_id, source, status="failed", error=error)
        failed += 1
    return dg.SkipReason(f"{failed} jobs failed: their announced retry never started")
