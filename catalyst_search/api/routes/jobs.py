"""Ingest jobs: list them, read one, cancel it, retry what failed (events: job_events.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query

from catalyst_search.api.deps import DispatcherDep, IngestCaller, JobsCaller, SettingsDep
from catalyst_search.api.models.errors import errors
from catalyst_search.api.models.ingest import (
    JobAccepted,
    JobList,
    JobProgress,
    JobSummary,
    JobView,
    SourceRunView,
    WebhookDeliveryView,
)
from catalyst_search.api.routes.ingest import accepted
from catalyst_search.auth.principal import Principal
from catalyst_search.ingest_requests.dispatch import QUEUE_ERRORS, Dispatcher, find_job, submit
from catalyst_search.ingest_requests.jobs import TERMINAL, Job, JobStatus
from catalyst_search.ingest_requests.sources import InvalidSource

router = APIRouter(prefix="/ingest", tags=["ingest"])
JobId = Annotated[str, Path(min_length=1, max_length=64)]
#: Jobs read to fill one filtered page, at most: a listing's cost stays bounded.
MAX_SCANNED = 1000


def _owned(dispatcher: Dispatcher, job_id: str, caller: Principal) -> Job:
    """The caller's job; another tenant's answers 404, like an unknown one."""
    job = find_job(dispatcher, job_id)
    if job is None or job.tenant_id != caller.tenant_id:
        raise HTTPException(404, f"no ingest job {job_id}")
    return job


@router.get("/jobs", response_model=JobList, responses=errors(401, 403, 422))
def list_jobs(
    dispatcher: DispatcherDep,
    caller: JobsCaller,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    before: Annotated[float | None, Query(description="Created before (next_before).")] = None,
) -> JobList:
    """The caller's jobs, newest first, a page at a time."""
    found: list[Job] = []
    scanned, cursor, more = 0, before, True
    while len(found) < limit and scanned < MAX_SCANNED:
        page = dispatcher.jobs.list_jobs(caller.tenant_id, limit=limit, before=cursor)
        scanned += len(page)
        for job in page:
            cursor = job.created_at
            if status is None or job.status == status:
                found.append(job)
                if len(found) == limit:
                    break
        if len(page) < limit and len(found) < limit:
            more = False
            break
    return JobList(jobs=[_summary(job) for job in found], next_before=cursor if more else None)


@router.get("/jobs/{job_id}", response_model=JobView, responses=errors(401, 403, 404, 422))
def job_status(
    job_id: JobId, dispatcher: DispatcherDep, settings: SettingsDep, caller: JobsCaller
) -> JobView:
    """Status, progress, per-document failures, retries, webhook deliveries and Dagster run
    links of a job."""
    job = _owned(dispatcher, job_id, caller)
    return job_view(job, settings.dagster_ui_url, dispatcher)


@router.post(
    "/jobs/{job_id}/cancel",
    status_code=202,
    response_model=JobView,
    responses=errors(401, 403, 404, 409, 422, 429),
)
def cancel_job(
    job_id: JobId, dispatcher: DispatcherDep, settings: SettingsDep, caller: IngestCaller
) -> JobView:
    """Cancel a job: sources not started are cancelled at once, running runs are terminated
    by the code location within a few seconds (the job then ends ``cancelled``)."""
    job = _owned(dispatcher, job_id, caller)
    if job.status in TERMINAL:
        raise HTTPException(409, f"job {job_id} has already ended ({job.status})")
    if not dispatcher.jobs.exists(job_id):
        raise HTTPException(409, f"job {job_id} waits in the outbox; cancel it once queued")
    dispatcher.jobs.cancel(job)
    return job_view(_owned(dispatcher, job_id, caller), settings.dagster_ui_url, dispatcher)


@router.post(
    "/jobs/{job_id}/retry",
    status_code=202,
    response_model=JobAccepted,
    responses=errors(401, 403, 404, 409, 422, 429),
)
def retry_job(
    job_id: JobId, dispatcher: DispatcherDep, settings: SettingsDep, caller: IngestCaller
) -> JobAccepted:
    """A new job for the sources of an ended job that failed, were cancelled or had failed
    documents (unchanged documents are skipped by their content hash); ``metadata.retry_of``
    names the original. 409 when the job succeeded or has not ended."""
    job = _owned(dispatcher, job_id, caller)
    if job.status not in TERMINAL or job.status == "succeeded":
        raise HTTPException(409, f"job {job_id} is {job.status}: nothing to retry")
    again = [run.source for run in job.runs if run.status != "succeeded" or run.failures]
    hooks = [d.url for d in dispatcher.jobs.webhooks.for_job(job_id)]
    try:
        new_id, dispatch = submit(
            dispatcher,
            tenant_id=caller.tenant_id,
            sources=again,
            metadata={**job.metadata, "retry_of": job_id},
            roots=settings.source_roots_for(caller.tenant_id),
            webhooks=hooks,
        )
    except InvalidSource as exc:
        raise HTTPException(422, str(exc)) from exc
    return accepted(new_id, dispatch)


def _progress(job: Job) -> JobProgress:
    total = job.docs_total
    if total:
        percent = round(100 * job.docs_done / total, 1)
    else:
        percent = 100.0 if job.status in ("succeeded", "completed_with_errors") else 0.0
    return JobProgress(documents_done=job.docs_done, documents_total=total, percent=percent)


def _summary(job: Job) -> JobSummary:
    return JobSummary(
        job_id=job.job_id,
        status=job.status,
        progress=_progress(job),
        sources=len(job.sources),
        created_at=job.created_at,
        updated_at=job.updated_at,
        status_url=f"/ingest/jobs/{job.job_id}",
    )


def job_view(job: Job, dagster_ui: str, dispatcher: Dispatcher) -> JobView:
    """What a caller sees of a job: status, progress, per-source runs linked into Dagster."""
    try:
        deliveries = dispatcher.jobs.webhooks.for_job(job.job_id)
    except QUEUE_ERRORS:  # the job store is down: a job in the outbox is shown without them
        deliveries = []
    return JobView(
        job_id=job.job_id,
        status=job.status,
        progress=_progress(job),
        sources=[
            SourceRunView(
                source=run.source,
                status=run.status,
                run_id=run.run_id,
                run_url=f"{dagster_ui.rstrip('/')}/runs/{run.run_id}" if run.run_id else None,
                attempts=run.attempts,
                step_retries=run.step_retries,
                documents_done=run.docs_done,
                documents_total=run.docs_total,
                failures=run.failures,
                artifact_uris=run.artifact_uris,
                error=run.error,
            )
            for run in job.runs
        ],
        metadata=job.metadata,
        created_at=job.created_at,
        updated_at=job.updated_at,
        cancel_requested=job.cancel_requested_at is not None,
        webhooks=[WebhookDeliveryView.model_validate(d.view()) for d in deliveries],
    )
