"""Cancel requests (``POST /ingest/jobs/{id}/cancel``) become terminated runs.

The API cancels the sources whose run has not started; this sensor asks Dagster to terminate
the job's runs that are queued or going (the run coordinator's ``cancel_run``, what the UI's
Terminate does). A terminated run ends CANCELED, and ``ingest_job_cancellations`` marks its
source. A source waiting for a run retry has no run to terminate: it is cancelled here.
"""

from __future__ import annotations

import dagster as dg

from catalyst_orchestration.defs.resources import JobStoreResource
from catalyst_search.ingest_requests.contract import JOB_TAG

MAX_JOBS_PER_TICK = 20
ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


@dg.sensor(
    name="ingest_job_cancel_requests",
    minimum_interval_seconds=2,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Terminates the runs of ingest jobs a caller cancelled (POST "
    "/ingest/jobs/{id}/cancel, catalystctl jobs cancel).",
)
def ingest_job_cancel_requests(
    context: dg.SensorEvaluationContext, jobs: JobStoreResource
) -> dg.SkipReason:
    pending = jobs.jobs.pending_cancels(limit=MAX_JOBS_PER_TICK)
    terminated = 0
    for job_id in pending:
        runs = context.instance.get_runs(
            filters=dg.RunsFilter(tags={JOB_TAG: job_id}, statuses=ACTIVE)
        )
        for run in runs:
            context.log.info(f"job {job_id}: cancelling run {run.run_id}")
            context.instance.run_coordinator.cancel_run(run.run_id)
            terminated += 1
        if runs:
            continue
        job = jobs.jobs.get(job_id)
        for source in job.runs if job else []:
            if source.status == "retrying":  # no run to terminate: the retry is not launched
                jobs.jobs.run_finished(
                    job_id, source.source, status="cancelled", error="cancelled before its retry"
                )
    if not pending:
        return dg.SkipReason("no cancel requests")
    return dg.SkipReason(f"{len(pending)} jobs with a cancel request; {terminated} runs cancelled")
