"""Request and response bodies of the ingest routes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from catalyst_search.ingest_requests.dispatch import Dispatched
from catalyst_search.ingest_requests.jobs import JobStatus


class BulkIngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[str] = Field(
        ..., min_length=1, max_length=100, description="Folders or JSONL(.gz) files to ingest."
    )
    metadata: dict[str, Any] = Field(default_factory=dict, description="Kept with the job.")
    webhook_url: str | None = Field(
        None,
        max_length=2048,
        description="Told when the job ends: a signed POST of the job-finished payload "
        "(needs CATALYST_WEBHOOK_SECRET; public addresses only unless allow-listed).",
    )


class JobAccepted(BaseModel):
    job_id: str
    status: JobStatus
    status_url: str
    dispatch: Dispatched = Field(
        description="queue: handed to the ingest queue; outbox: the queue was unreachable, the "
        "job waits on this host and is queued once it answers."
    )


class JobProgress(BaseModel):
    documents_done: int
    documents_total: int | None
    percent: float


class SourceRunView(BaseModel):
    """One source of a job: the Dagster run working on it, and what it found."""

    source: str
    status: str
    run_id: str | None
    run_url: str | None = Field(description="The run in the Dagster UI.")
    attempts: int = Field(description="Runs that worked on this source; a run retry adds one.")
    step_retries: int = Field(
        description="Step attempts retried after a transient failure, over those runs."
    )
    documents_done: int
    documents_total: int | None
    failures: list[dict[str, Any]] = Field(
        description="Per-document failures: location, stage, error, class (transient: "
        "it may succeed later; permanent: it will not), message, document_id and attempts "
        "(tries of its fetch, or the attempt of its step that recorded it)."
    )
    retried: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Documents fetched only after transient failures: location, attempts, "
        "the reasons of the failed tries (HTTP 429, timeout...) and the outcome.",
    )
    artifact_uris: list[str]
    listed_at_most: int = Field(
        description="Each of failures, retried and artifact_uris lists its first this many; "
        "the *_total counts say how many there are."
    )
    failures_total: int
    retried_total: int
    artifact_uris_total: int
    error: str | None


class WebhookDeliveryView(BaseModel):
    """One webhook the job reports to: waiting for the job's end, pending (being tried),
    delivered, or failed (out of attempts, or refused)."""

    delivery_id: str
    url: str
    origin: Literal["job", "tenant"] = Field(
        description="job: the job's webhook_url; tenant: the tenant's webhook"
    )
    state: Literal["waiting", "pending", "delivered", "failed"]
    attempts: int
    next_at: float | None
    last_status: int | None
    last_error: str | None


class JobView(BaseModel):
    """Status, progress, per-source runs with links into Dagster."""

    job_id: str
    status: JobStatus
    progress: JobProgress
    sources: list[SourceRunView]
    metadata: dict[str, Any]
    created_at: float
    updated_at: float
    cancel_requested: bool = False
    webhooks: list[WebhookDeliveryView] = Field(default_factory=list)


class JobSummary(BaseModel):
    """A job in a listing: its status and progress; the full view is at ``status_url``."""

    job_id: str
    status: JobStatus
    progress: JobProgress
    sources: int
    created_at: float
    updated_at: float
    status_url: str


class JobList(BaseModel):
    jobs: list[JobSummary]
    next_cursor: str | None = Field(
        description="Pass as ``cursor`` for the next (older) page; null on the last page."
    )


class WebhookSecret(BaseModel):
    tenant_id: str
    secret: str = Field(description="HMAC-SHA256 key this tenant's webhook receivers verify with.")
