"""Runs that end badly mark their ingest job: ``retrying``, ``failed`` or ``cancelled``.

A failed run that Dagster will retry (run retries in the instance's dagster.yaml; Dagster tags
the failed run ``dagster/will_retry``) marks its source ``retrying``, never ``failed``: a client
waiting on the job must not report a failure for a job that goes on to succeed. The sensors
can also tick after the retry has already started. So news of an older attempt never overwrites
the record of the attempt that replaced it. A run-status sensor does not see an event
twice, even when its tick failed: ``run_end_sweep.py`` records the ends it missed.
"""

from __future__ import annotations

import logging

import dagster as dg

from catalyst_orchestration.defs.jobs import ingest_job
from catalyst_orchestration.defs.resources import JobStoreResource, StateStoreResource
from catalyst_orchestration.lib.state import partition_key_for
from catalyst_search.ingest_requests.contract import JOB_TAG
from catalyst_search.ingest_requests.jobs import Job

WILL_RETRY_TAG = "dagster/will_retry"  # set by Dagster on a failed run when run retries are on


def _replaced(
    instance: dg.DagsterInstance, recorded_run_id: str | None, run: dg.DagsterRun
) -> bool:
    """Whether the job record already names a retry of ``run`` (a later attempt)."""
    if not recorded_run_id or recorded_run_id == run.run_id:
        return False
    recorded = instance.get_run_by_id(recorded_run_id)
    return recorded is not None and run.run_id in (recorded.parent_run_id, recorded.root_run_id)


def failure_status(run: dg.DagsterRun, job: Job | None, message: str) -> tuple[str, str]:
    """(status, error) of a failed run's source: cancelled when its job was, retrying when
    Dagster will retry the run, failed otherwise."""
    if job is not None and job.cancel_requested_at is not None:  # stopped by tracking.py
        return "cancelled", "the run was stopped: the job was cancelled"
    if run.tags.get(WILL_RETRY_TAG) == "true":
        return "retrying", f"{message} (Dagster retries the run)"
    return "failed", message


def mark_run_end(
    instance: dg.DagsterInstance,
    run: dg.DagsterRun,
    jobs: JobStoreResource,
    state: StateStoreResource,
    log: logging.Logger | dg.DagsterLogManager,
    *,
    status: str,
    error: str,
) -> str | None:
    """Set the source of ``run`` to ``status``; returns what was set, or None when the run has
    no job, no source, or a later attempt has replaced it."""
    job_id, partition = run.tags.get(JOB_TAG), run.tags.get("dagster/partition")
    if not (job_id and partition):
        return None  # not a run of an ingest job
    job = jobs.jobs.get(job_id)
    source = source_of(state, job, partition)
    if source is None:  # the run ended before its source was registered: nothing to mark
        log.warning(f"run {run.run_id} of job {job_id}: no source for {partition!r}")
        return None
    record = next((r for r in job.runs if r.source == source), None) if job else None
    recorded = record.run_id if record else None
    if _replaced(instance, recorded, run):
        log.info(f"run {run.run_id} of job {job_id}: its retry {recorded} took over")
        return None
    if record is not None and recorded == run.run_id and record.status == "succeeded":
        log.info(f"run {run.run_id} of job {job_id}: ended {status} after it had published")
        return None  # its documents are searchable: the source stays succeeded
    jobs.jobs.run_finished(job_id, source, status=status, error=error)
    return status


@dg.run_failure_sensor(
    name="ingest_job_failures",
    monitored_jobs=[ingest_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks the ingest job of a failed run: retrying when Dagster will retry the "
    "run, failed when no retry is left, cancelled when its job was cancelled.",
)
def ingest_job_failures(
    context: dg.RunFailureSensorContext, jobs: JobStoreResource, state: StateStoreResource
) -> None:
    run = context.dagster_run
    job_id = run.tags.get(JOB_TAG)
    job = jobs.jobs.get(job_id) if job_id else None
    status, error = failure_status(run, job, context.failure_event.message or "run failed")
    mark_run_end(context.instance, run, jobs, state, context.log, status=status, error=error)


@dg.run_status_sensor(
    name="ingest_job_cancellations",
    run_status=dg.DagsterRunStatus.CANCELED,
    monitored_jobs=[ingest_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks the ingest job of a cancelled run as cancelled.",
)
def ingest_job_cancellations(
    context: dg.RunStatusSensorContext, jobs: JobStoreResource, state: StateStoreResource
) -> None:
    mark_run_end(
        context.instance,
        context.dagster_run,
        jobs,
        state,
        context.log,
        status="cancelled",
        error="the run was cancelled",
    )


def source_of(state: StateStoreResource, job: Job | None, partition: str) -> str | None:
    """The source URI of ``partition``: registered, or (retired since by ``retire_source``)
    the one of the job's sources whose partition it was."""
    try:
        return state.store.source(partition).uri
    except KeyError:
        if job is None:
            return None
        named = (u for u in job.sources if partition_key_for(job.tenant_id, u) == partition)
        return next(named, None)
