"""Asynchronous ingestion: accept a bulk request as a job, report the job's progress."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path

from catalyst_search.api.deps import DispatcherDep, IngestCaller, JobsCaller, SettingsDep
from catalyst_search.api.models.errors import errors
from catalyst_search.api.models.ingest import (
    BulkIngestRequest,
    JobAccepted,
    JobProgress,
    JobView,
    SourceRunView,
)
from catalyst_search.ingest_requests.dispatch import find_job, submit
from catalyst_search.ingest_requests.jobs import Job
from catalyst_search.ingest_requests.sources import InvalidSource

router = APIRouter(prefix="/ingest", tags=["ingest"])


@router.post(
    "/bulk",
    status_code=202,
    response_model=JobAccepted,
    responses=errors(401, 403, 413, 422, 429),
)
def bulk(
    body: BulkIngestRequest,
    dispatcher: DispatcherDep,
    settings: SettingsDep,
    caller: IngestCaller,
) -> JobAccepted:
    """Persist the request as a job and queue it; a Dagster sensor turns it into runs.

    Local sources must lie under ``CATALYST_SOURCE_ROOTS`` (symlinks and ``..`` resolved).
    """
    try:
        job_id, dispatch = submit(
            dispatcher,
            tenant_id=caller.tenant_id,
            sources=body.sources,
            metadata=body.metadata,
            roots=settings.source_roots_for(caller.tenant_id),
        )
    except InvalidSource as exc:
        raise HTTPException(422, str(exc)) from exc
    return JobAccepted(
        job_id=job_id,
        status="queued",
        status_url=f"/ingest/jobs/{job_id}",
        dispatch=dispatch,
    )


@router.get("/jobs/{job_id}", response_model=JobView, responses=errors(401, 403, 404, 422))
def job_status(
    job_id: Annotated[str, Path(min_length=1, max_length=64)],
    dispatcher: DispatcherDep,
    settings: SettingsDep,
    caller: JobsCaller,
) -> JobView:
    """Status, progress, per-document failures, retries and Dagster run links of a job.

    Another tenant's job answers 404, like an unknown one.
    """
    job = find_job(dispatcher, job_id)
    if job is None or job.tenant_id != caller.tenant_id:
        raise HTTPException(404, f"no ingest job {job_id}")
    return job_view(job, settings.dagster_ui_url)


def job_view(job: Job, dagster_ui: str) -> JobView:
    """What a caller sees of a job: status, progress, per-source runs linked into Dagster."""
    total = job.docs_total
    if total:
        percent = round(100 * job.docs_done / total, 1)
    else:
        percent = 100.0 if job.status in ("succeeded", "completed_with_errors") else 0.0
    return JobView(
        job_id=job.job_id,
        status=job.status,
        progress=JobProgress(documents_done=job.docs_done, documents_total=total, percent=percent),
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
    )
