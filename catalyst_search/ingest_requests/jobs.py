"""Job records: what a bulk ingest request became, and how far its runs have got.

A job has one run per source. Its status follows from theirs: ``queued`` until a run starts,
``running`` while any runs, ``retrying`` while a failed run waits for the retry Dagster will
launch; then, final, ``succeeded``, ``completed_with_errors`` (some documents failed),
``failed`` (a run failed with no retry left) or ``cancelled`` (a run was cancelled).

A cancel request is recorded on the job (``cancel_requested_at``); sources not started yet are
cancelled at once, and a sensor of the code location terminates the runs already going.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from catalyst_search.ingest_requests.events import MAX_FAILURE_EVENTS, JobEvent
from catalyst_search.ingest_requests.watches import WatchRegistry
from catalyst_search.webhooks.deliveries import DeliveryStore

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
    retried: list[dict[str, Any]] = field(default_factory=list)  # fetched after transient failures


@dataclass
class Job:
    job_id: str
    tenant_id: str
    sources: list[str]
    metadata: dict[str, Any]
    created_at: float
    updated_at: float
    runs: list[SourceRun]
    cancel_requested_at: float | None = None

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

    webhooks: DeliveryStore
    watches: WatchRegistry

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
        retried: list[dict[str, Any]] | None = None,
    ) -> None:
        """Status and error, and the failures, artifacts and documents fetched after
        transient failures (``retried``) JSON-encoded when given."""
        fields: dict[str, Any] = {"status": status, "error": error}
        if failures is not None:
            fields["failures"] = json.dumps(failures)
        if artifact_uris is not None:
            fields["artifact_uris"] = json.dumps(artifact_uris)
        if retried is not None:
            fields["retried"] = json.dumps(retried)
        before = self.get(job_id)
        self._update(job_id, source, **fields)
        for failure in (failures or [])[:MAX_FAILURE_EVENTS]:
            self._append(job_id, "document_failed", {"source": source, **failure})
        self._ended(job_id, source, status, error, len(failures or []), before=before)

    def _ended(
        self, job_id: str, source: str, status: str, error: str | None, failures: int, *,
        before: Job | None,
    ) -> None:  # fmt: skip
        """The ``run_ended`` event; ``job_finished`` when this ended the job, once (a job
        already ended before this update is not reported again). The job's webhooks are made
        due whenever it has ended: that is idempotent, so an update that failed between the
        two (a store error) is made good by the next one, a step retry's."""
        ended = {"source": source, "status": status, "error": error}
        self._append(job_id, "run_ended", {**ended, "failures": failures})
        job = self.get(job_id)
        was_ended = before is not None and before.status in TERMINAL
        if job is not None and job.status in TERMINAL:
            if not was_ended:
                self._append(job_id, "job_finished", {"status": job.status})
            self.webhooks.job_finished(job_id)

    def cancel(self, job_id: str) -> None:
        """Record a cancel request; sources whose run has not started are cancelled now, each
        only if it is still queued at that moment (a run starting meanwhile is left to the
        code location, which stops it)."""
        self._request_cancel(job_id)
        self._append(job_id, "cancel_requested", {})
        job = self.get(job_id)
        for run in job.runs if job else []:
            if run.status != "queued" or run.run_id is not None:
                continue
            reason = "cancelled before its run started"
            before = self.get(job_id)
            if self._cancel_queued(job_id, run.source, reason):
                self._ended(job_id, run.source, "cancelled", reason, 0, before=before)

    def _request_cancel(self, job_id: str) -> None:
        raise NotImplementedError

    def _cancel_queued(self, job_id: str, source: str, error: str) -> bool:
        """Set ``source`` cancelled if, at that moment, it is queued with no run; atomic."""
        raise NotImplementedError


class JobStore(Protocol):
    webhooks: DeliveryStore
    watches: WatchRegistry

    def create(self, *, job_id: str, tenant_id: str, sources: list[str], metadata: dict) -> Job: ...

    def list_jobs(
        self, tenant_id: str, *, limit: int, after: tuple[float, str] | None
    ) -> list[Job]:
        """Up to ``limit`` of the tenant's jobs, newest first (by creation time, then id),
        strictly after the ``(created_at, job_id)`` of ``after`` when given."""
        ...

    def cancel(self, job_id: str) -> None: ...

    def pending_cancels(self, *, limit: int) -> list[str]:
        """Jobs with a cancel request and a source still queued, running or retrying."""
        ...

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
        retried: list[dict[str, Any]] | None = None,
    ) -> None: ...

    def events(self, job_id: str, *, after: str | None, limit: int) -> list[JobEvent]: ...

    def beat(self, name: str) -> None: ...

    def last_beat(self, name: str) -> float | None: ...

    def close(self) -> None: ...
