"""Typed answers of the search service, as the SDK returns them (plain dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Job states after which a job changes no more.
TERMINAL = ("succeeded", "completed_with_errors", "failed", "cancelled")


@dataclass(frozen=True)
class SearchHit:
    document_id: str
    chunk_id: str
    score: float
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchResults:
    query_id: str
    hits: list[SearchHit]
    index_version: str | None
    timings_ms: dict[str, float]
    mode: str = "economy"
    track: str = "text"
    rerank_tier: str = "fused"
    degraded: bool = False
    degradation_reason: str | None = None
    debug: dict[str, Any] | None = None  # with ``debug=True``: ranks, scores, stages, query
    boost_version: str | None = None  # the feedback boosts that reordered the results, if any
    response: dict[str, Any] = field(default_factory=dict, repr=False)  # the whole answer

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchResults:
        """The answer of ``POST /search``."""
        return cls(
            query_id=data["query_id"],
            hits=[SearchHit(**hit) for hit in data["results"]],
            index_version=data.get("index_version"),
            timings_ms=data.get("timings_ms", {}),
            mode=data.get("mode", "economy"),
            track=data.get("track", "text"),
            rerank_tier=data.get("rerank_tier", "fused"),
            degraded=bool(data.get("degraded", False)),
            degradation_reason=data.get("degradation_reason"),
            debug=data.get("debug"),
            boost_version=data.get("boost_version"),
            response=data,
        )


@dataclass(frozen=True)
class JobAccepted:
    """An ingest request the service took: ``dispatch`` is ``outbox`` while its queue is down."""

    job_id: str
    status: str
    status_url: str
    dispatch: str = "queue"
    view: dict[str, Any] = field(default_factory=dict)  # the whole answer

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobAccepted:
        """The answer of ``POST /ingest/bulk``."""
        return cls(
            job_id=data["job_id"],
            status=data["status"],
            status_url=data["status_url"],
            dispatch=data.get("dispatch", "queue"),
            view=data,
        )


@dataclass(frozen=True)
class DocumentFailure:
    """One document of a job that failed, and how many attempts of its step saw it fail."""

    location: str
    stage: str
    error: str
    failure_class: str
    message: str
    document_id: str | None = None
    attempts: int = 1  # the attempt of its step that recorded it

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DocumentFailure:
        return cls(
            location=str(data.get("location", "")),
            stage=str(data.get("stage", "")),
            error=str(data.get("error", "")),
            failure_class=str(data.get("class", "")),
            message=str(data.get("message", "")),
            document_id=data.get("document_id"),
            attempts=int(data.get("attempts", 1)),
        )


@dataclass(frozen=True)
class JobSource:
    """One source of a job: its Dagster run, progress, retries and failed documents."""

    source: str
    status: str
    run_id: str | None
    run_url: str | None
    attempts: int  # runs that worked on it; a Dagster run retry adds one
    step_retries: int  # step attempts retried after a transient failure
    documents_done: int
    documents_total: int | None
    failures: list[DocumentFailure]  # the first ones (at most ``listed_at_most``)
    artifact_uris: list[str]
    error: str | None
    failures_total: int = 0  # how many failed, listed or not
    artifact_uris_total: int = 0
    retried: list[dict[str, Any]] = field(default_factory=list)  # fetched after retries
    retried_total: int = 0
    listed_at_most: int | None = None  # each list's length at most (None: not said)

    @property
    def run_retries(self) -> int:
        return max(0, self.attempts - 1)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobSource:
        return cls(
            source=str(data["source"]),
            status=str(data["status"]),
            run_id=data.get("run_id"),
            run_url=data.get("run_url"),
            attempts=int(data.get("attempts", 0)),
            step_retries=int(data.get("step_retries", 0)),
            documents_done=int(data.get("documents_done", 0)),
            documents_total=data.get("documents_total"),
            failures=[DocumentFailure.from_json(f) for f in data.get("failures", [])],
            artifact_uris=list(data.get("artifact_uris", [])),
            error=data.get("error"),
            failures_total=int(data.get("failures_total", len(data.get("failures", [])))),
            artifact_uris_total=int(
                data.get("artifact_uris_total", len(data.get("artifact_uris", [])))
            ),
            retried=list(data.get("retried", [])),
            retried_total=int(data.get("retried_total", len(data.get("retried", [])))),
            listed_at_most=data.get("listed_at_most"),
        )


@dataclass(frozen=True)
class IngestJob:
    """An ingest job as ``GET /ingest/jobs/{id}`` reports it; ``view`` is the whole answer."""

    job_id: str
    status: str
    documents_done: int
    documents_total: int | None
    percent: float
    sources: list[JobSource]
    view: dict[str, Any]

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def step_retries(self) -> int:
        return sum(s.step_retries for s in self.sources)

    @property
    def run_retries(self) -> int:
        return sum(s.run_retries for s in self.sources)

    @property
    def failures(self) -> list[DocumentFailure]:
        return [f for s in self.sources for f in s.failures]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IngestJob:
        progress = data.get("progress", {})
        return cls(
            job_id=data["job_id"],
            status=data["status"],
            documents_done=int(progress.get("documents_done", 0)),
            documents_total=progress.get("documents_total"),
            percent=float(progress.get("percent", 0.0)),
            sources=[JobSource.from_json(s) for s in data.get("sources", [])],
            view=data,
        )


@dataclass(frozen=True)
class JobSummary:
    """A job in a listing (``GET /ingest/jobs``); ``view`` is the listing's entry."""

    job_id: str
    status: str
    documents_done: int
    documents_total: int | None
    sources: int
    created_at: float
    view: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobSummary:
        progress = data.get("progress", {})
        return cls(
            job_id=data["job_id"],
            status=data["status"],
            documents_done=int(progress.get("documents_done", 0)),
            documents_total=progress.get("documents_total"),
            sources=int(data.get("sources", 0)),
            created_at=float(data.get("created_at", 0.0)),
            view=data,
        )


@dataclass(frozen=True)
class JobPage:
    """One page of jobs, newest first; pass ``next_cursor`` for the next (None: the last)."""

    jobs: list[JobSummary]
    next_cursor: str | None
    view: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobPage:
        jobs = [JobSummary.from_json(j) for j in data.get("jobs", [])]
        return cls(jobs, data.get("next_cursor"), data)


@dataclass(frozen=True)
class JobEvent:
    """One event of a job's stream: ``kind`` (job_queued, run_started, step_retried, progress,
    document_failed, run_ended, cancel_requested, job_finished), when, and what (``data``).
    Followed by polling (no event stream on the way), ``id`` is empty and the kinds are
    ``progress`` and ``job_finished``."""

    id: str
    kind: str
    at: float
    data: dict[str, Any]
