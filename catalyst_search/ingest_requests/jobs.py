"""Job records: what a bulk ingest request became, and how far its runs have got.

A job has one run per source. Its status follows from theirs: ``queued`` until a run starts,
``running`` while any runs, ``retrying`` while a failed run waits for the retry Dagster will
launch; then, final, ``succeeded``, ``completed_with_errors`` (some documents failed),
``failed`` (a run failed with no retry left) or ``cancelled`` (a run was cancelled).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from catalyst_search.ingest_requests.events import MAX_FAILURE_EVENTS, JobEvent

JobStatus = Literal[
    "queued", "running", "retrying", "succeeded", "completed_with_errors", "failed", "cancelled"
]
TERMINAL: set[JobStatus] = {"succeeded", "completed_with_errors", "failed", "cancelled"}


@dataclass
class SourceRun:
    source: str
    status: str
    run_id: str | None = None
    docs_done: int = 0
    docs_total: int | None = None
    attempts: int = 0  # runs that worked on this source (a Dagster run retry adds one)
    step_retries: int = 0  # step attempts retried after a transient failure, over those runs
    failures: list[dict[str, Any]] = field(default_factory=list)
    artifact_uris: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class Job:
    job_id: str
    tenant_id: str
    sources: list[str]
    metadata: dict[str, Any]
    created_at: float
    updated_at: float
    runs: list[SourceRun]

    @property
    def status(self) -> JobStatus:
        states = {run.status for run in self.runs}
        if not states or states == {"queued"}:
            return "queued"
        if "running" in states:
            return "running"
        if "retrying" in states:
            return "retrying"
        if "queued" in states:
            return "running"  # some sources done, the others not started yet
        if "failed" in states:
            return "failed"
        if "cancelled" in states:
            return "cancelled"
        if any(run.failures for run in self.runs):
            return "completed_with_errors"
        return "succeeded"

    @property
    def docs_done(self) -> int:
        return sum(run.docs_done for run in self.runs)

    @property
    def docs_total(self) -> int | None:
        totals = [run.docs_total for run in self.runs]
        return None if any(t is None for t in totals) else sum(t or 0 for t in totals)


class RunUpdates:
    """What both job stores do the same way, on top of their own ``_update`` of one run and
    ``_append`` of one event."""

    def _update(self, job_id: str, source: str, **fields: Any) -> None:
        raise NotImplementedError

    def _append(self, job_id: str, kind: str, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def get(self, job_id: str) -> Job | None:
        raise NotImplementedError

    def _started(
        self, job_id: str, source: str, *, run_id: str, attempt: int | None, step_retry: bool
    ) -> None:
        """Events of ``run_started``: a new attempt (``attempt`` set) and a step retry."""
        if attempt is not None:
            self._append(
                job_id, "run_started", {"source": source, "run_id": run_id, "attempt": attempt}
            )
        if step_retry:
            self._append(job_id, "step_retried", {"source": source, "run_id": run_id})

    def progress(self, job_id: str, source: str, *, done: int, total: int) -> None:
        self._update(job_id, source, docs_done=done, docs_total=total)
        self._append(job_id, "progress", {"source": source, "done": done, "total": total})

    def run_finished(
        self,
        job_id: str,
        source: str,
        *,
        status: str,
        failures: list[dict[str, Any]] | None = None,
        artifact_uris: list[str] | None = None,
        error: str | None = None,
    ) -> None:
        """Status and error, and the failures and artifacts JSON-encoded when given."""
        fields: dict[str, Any] = {"status": status, "error": error}
        if failures is not None:
            fields["failures"] = json.dumps(failures)
        if artifact_uris is not None:
            fields["artifact_uris"] = json.dumps(artifact_uris)
        self._update(job_id, source, **fields)
        for failure in (failures or [])[:MAX_FAILURE_EVENTS]:
            self._append(job_id, "document_failed", {"source": source, **failure})
        ended = {"source": source, "status": status, "error": error}
        self._append(job_id, "run_ended", {**ended, "failures": len(failures or [])})
        job = self.get(job_id)
        if job is not None and job.status in TERMINAL:
            self._append(job_id, "job_finished", {"status": job.status})


class JobStore(Protocol):
    def create(self, *, job_id: str, tenant_id: str, sources: list[str], metadata: dict) -> Job: ...

    def exists(self, job_id: str) -> bool: ...

    def get(self, job_id: str) -> Job | None: ...

    def run_started(
        self, job_id: str, source: str, *, run_id: str, step_retry: bool = False
    ) -> None: ...

    def progress(self, job_id: str, source: str, *, done: int, total: int) -> None: ...

    def run_finished(
        self,
        job_id: str,
        source: str,
        *,
        status: str,
        failures: list[dict[str, Any]] | None = None,
        artifact_uris: list[str] | None = None,
        error: str | None = None,
    ) -> None: ...

    def events(self, job_id: str, *, after: str | None, limit: int) -> list[JobEvent]: ...

    def beat(self, name: str) -> None: ...

    def last_beat(self, name: str) -> float | None: ...

    def close(self) -> None: ...
