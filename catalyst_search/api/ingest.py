"""Asynchronous ingestion: accept a bulk request as a job, report the job's progress."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from catalyst_search.api.deps import SettingsDep
from catalyst_search.stores.dispatch import InvalidSource, find_job, submit
from catalyst_search.stores.jobs import job_view

router = APIRouter(prefix="/ingest", tags=["ingest"])


class BulkIngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[str] = Field(
        ..., min_length=1, max_length=100, description="Folders or JSONL(.gz) files to ingest."
    )
    metadata: dict[str, Any] = Field(default_factory=dict, description="Kept with the job.")


class JobAccepted(BaseModel):
    job_id: str
    status: str
    status_url: str


@router.post("/bulk", status_code=202, response_model=JobAccepted)
def bulk(body: BulkIngestRequest, request: Request, settings: SettingsDep) -> JobAccepted:
    """Persist the request as a job and queue it; a Dagster sensor turns it into runs."""
    try:
        job_id, _ = submit(
            request.app.state.dispatcher,
            tenant_id=settings.default_tenant,
            sources=body.sources,
            metadata=body.metadata,
        )
    except InvalidSource as exc:
        raise HTTPException(422, str(exc)) from exc
    return JobAccepted(job_id=job_id, status="queued", status_url=f"/ingest/jobs/{job_id}")


@router.get("/jobs/{job_id}")
def job_status(job_id: str, request: Request, settings: SettingsDep) -> dict[str, Any]:
    """Status, progress, per-document failures, retries and Dagster run links of a job."""
    job = find_job(request.app.state.dispatcher, job_id)
    if job is None or job.tenant_id != settings.default_tenant:
        raise HTTPException(404, f"no ingest job {job_id}")
    return job_view(job, settings.dagster_ui_url)
