"""What happened to a job, in order: the events ``GET /ingest/jobs/{id}/events`` streams.

Kinds: ``job_queued``; per source ``run_started`` (with the attempt), ``step_retried``,
``progress``, ``document_failed``, ``run_ended`` (succeeded, retrying, failed or cancelled);
and last ``job_finished`` with the job's final status. Ids are opaque and increase per job: a
client resumes after the last one it saw (SSE ``Last-Event-ID``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: per-document failures streamed per run; the job record keeps them all (its view lists 100)
MAX_FAILURE_EVENTS = 100
#: events kept per job in Redis (a stream trimmed to about this length)
MAX_EVENTS = 10_000


@dataclass(frozen=True)
class JobEvent:
    id: str
    at: float
    kind: str
    data: dict[str, Any]
