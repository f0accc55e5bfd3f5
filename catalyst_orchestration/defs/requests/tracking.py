"""Runs started for an ingest job report their progress into the job record."""

from __future__ import annotations

import dagster as dg

from catalyst_search.ingest_requests.contract import JOB_TAG
from catalyst_search.ingest_requests.jobs import JobStore


class RunTracker:
    """Writes progress for the job a run belongs to; does nothing for runs without a job.

    The job comes from the run's ``catalyst/job_id`` tag, the source from the run's partition.
    """

    def __init__(self, store: JobStore | None, *, job_id: str, source: str, run_id: str) -> None:
        self._store = store
        self.job_id = job_id
        self.source = source
        self.run_id = run_id

    @classmethod
    def for_run(cls, run: dg.DagsterRun, store: JobStore, *, source: str) -> RunTracker:
        job_id = run.tags.get(JOB_TAG)
        return cls(store if job_id else None, job_id=job_id or "", source=source, run_id=run.run_id)

    def started(self, *, retry_number: int = 0) -> None:
        """Every step with a retry policy calls this, with its ``context.retry_number``: a retry
        run may start at any step, and a step's retry is counted on the job."""
        if self._store:
            self._store.run_started(
                self.job_id, self.source, run_id=self.run_id, step_retry=retry_number > 0
            )

    def progress(self, done: int, total: int) -> None:
        if self._store:
            self._store.progress(self.job_id, self.source, done=done, total=total)

    def finished(self, *, failures: list[dict], artifact_uris: list[str]) -> None:
        if self._store:
            self._store.run_finished(
                self.job_id,
                self.source,
                status="succeeded",
                failures=failures,
                artifact_uris=artifact_uris,
            )
