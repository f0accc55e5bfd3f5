"""Ingest jobs: list them, read one, cancel it, retry what failed (events: job_events.py)."""

from __future__ import annotations

import math
import re
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
from catalyst_search.api.routes.ingest import accepted, checked_webhooks
from catalyst_search.auth.principal import Principal
from catalyst_search.ingest_requests.dispatch import QUEUE_ERRORS, Dispatcher, find_job, submit
from catalyst_search.ingest_requests.jobs import TERMINAL, Job, JobStatus
from catalyst_search.ingest_requests.sources import InvalidSource
from catalyst_search.outbound import OutboundRefused

router = APIRouter(prefix="/ingest", tags=["ingest"])
JobId = Annotated[str, Path(min_length=1, max_length=64)]
#: Jobs read to fill one filtered page, at most: a listing's cost stays bounded.
MAX_SCANNED = 1000
#: Failures, retried documents and artifact URIs a job view lists per source, at most: a job
#: of 100k documents would otherwise answer megabytes (the counts say how many there are).
MAX_LISTED = 100


def _owned(dispatcher: Dispatcher, job_id: str, caller: Principal) -> Job:
    """The caller's job; another tenant's answers 404, like an unknown one."""
    job = find_job(dispatcher, job_id)
    if job is None or job.tenant_id != caller.tenant_id:
        raise HTTPException(404, f"no ingest job {job_id}")
    return job


def _cursor(raw: str | None) -> tuple[float, str] | None:
    """``created_at:job_id`` of the last job of a page (``next_cursor``); 422 when malformed."""
    if raw is None:
        return None
    at, sep, job_id = raw.partition(":")
    try:
        created = float(at)
    except ValueError:
        created = float("nan")
    if not sep or not math.isfinite(created) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", job_id):
        raise HTTPException(422, "cursor: pass the next_cursor of the previous page")
    return created, job_id


@router.get("/jobs", response_model=JobList, responses=errors(401, 403, 422, 429))
def list_jobs(
    dispatcher: DispatcherDep,
    caller: IngestCaller,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None, Query(max_length=100, description="The previous page's next_cursor.")
    ] = None,
) -> JobList:
    """The caller's jobs, newest first, a page at a time (counted as ingest requests by the
    rate limit: a filtered page may read up to 1,000 jobs)."""
    found: list[Job] = []
    after, more, scanned = _cursor(cursor), False, 0
    while scanned < MAX_SCANNED:
        page = dispatcher.jobs.list_jobs(caller.tenant_id, limit=limit + 1, after=after)
        scanned += len(page)
        for job in page:
            if len(found) == limit:
                more = True  # one more job exists after the last one returned
                break
            after = (job.created_at, job.job_id)
            if status is None or job.status == status:
                found.append(job)
        if more or len(page) <= limit:
            break
    else:
        more = True  # the scan budget ran out: the caller may go on from here
    next_cursor = f"{after[0]!r}:{after[1]}" if more and after else None
    return JobList(jobs=[_summary(job) for job in found], next_cursor=next_cursor)


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
    """Cancel a job: sources not started are cancelled at once, running runs stop within a few
    seconds (the job then ends ``cancelled``, or ``failed`` when a source had failed before).
    Cancelling a job again answers its view, however it ended; any other ended job is 409."""
    job = _owned(dispatcher, job_id, caller)
    if job.cancel_requested_at is not None:
        return job_view(job, settings.dagster_ui_url, dispatcher)  # a repeated cancel
    if job.status in TERMINAL:
        raise HTTPException(409, f"job {job_id} has already ended ({job.status})")
    if not dispatcher.jobs.exists(job_id):
        raise HTTPException(409, f"job {job_id} waits in the outbox; cancel it once queued")
    dispatcher.jobs.cancel(job_id)
    return job_view(_owned(dispatcher, job_id, caller), settings.dagster_ui_url, dispatcher)


@router.post(
    "/jobs/{job_id}/retry",
    status_code=202,
    response_model=JobAccepted,
    responses=errors(401, 403, 404, 409, 422, 429, 503),
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
    own = [d.url for d in dispatcher.jobs.webhooks.for_job(job_id) if d.origin == "job"]
    rules = settings.source_rules(caller.tenant_id)
    try:
        new_id, dispatch = submit(
            dispatcher,
            tenant_id=caller.tenant_id,
            sources=again,
            metadata={**job.metadata, "retry_of": job_id},
            rules=rules,
            webhooks=checked_webhooks(settings, own, sources=again, rules=rules),
            tenant_webhook=settings.tenant_webhook(caller.tenant_id),
        )
    except (InvalidSource, OutboundRefused) as exc:
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
                failures=run.failures[:MAX_LISTED],
                retried=run.retried[:MAX_LISTED],
                artifact_uris=run.artifact_uris[:MAX_LISTED],
                listed_at_most=MAX_LISTED,
                failures_total=len(run.failures),
                retried_total=len(run.retried),
                artifact_uris_total=len(run.artifact_uris),
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
