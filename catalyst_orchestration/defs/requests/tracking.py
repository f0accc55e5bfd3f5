"""Runs started for an ingest job report their progress into the job record, and stop when
the job is cancelled.

Stopping is cooperative: Dagster's termination interrupts a step, but a step with a retry
policy turns the interrupt into a step retry (dagster-io/dagster#5973), so a terminated run of
ours would carry on. Each step therefore checks the job at its start and at every progress
report; a cancelled job's step fails for good (no step retry) and its run is tagged so that
Dagster's run retries leave it be. ``ingest_job_failures`` then marks the source cancelled."""

from __future__ import annotations

import dagster as dg

from catalyst_search.ingest_requests.contract import JOB_TAG
from catalyst_search.ingest_requests.jobs import JobStore

#: a run of a cancelled job fails with this, and is not retried (a Dagster run tag)
CANCELLED = "the ingest job was cancelled"
RETRY_ON_FAILURE_TAG = "dagster/retry_on_asset_or_op_failure"


class RunTracker:
    """Writes progress for the job a run belongs to; does nothing for runs without a job.

    The job comes from the run's ``catalyst/job_id`` tag, the source from the run's partition.
    """

    def __init__(
        self,
        store: JobStore | None,
        *,
        job_id: str,
        source: str,
        run_id: str,
        instance: dg.DagsterInstance | None = None,
    ) -> None:
        self._store = store
        self._instance = instance
        self.job_id = job_id
        self.source = source
        self.run_id = run_id

    @classmethod
    def for_run(
        cls,
        run: dg.DagsterRun,
        store: JobStore,
        *,
        source: str,
        instance: dg.DagsterInstance | None = None,
    ) -> RunTracker:
        job_id = run.tags.get(JOB_TAG)
        store_or_none = store if job_id else None
        return cls(
            store_or_none, job_id=job_id or "", source=source, run_id=run.run_id, instance=instance
        )

    def stop_if_cancelled(self) -> None:
        """Fail this step for good, and keep Dagster from retrying the run, when the job has a
        cancel request."""
        if not self._store:
            return
        job = self._store.get(self.job_id)
        if job is None or job.cancel_requested_at is None:
            return
        if self._instance is not None:
            self._instance.add_run_tags(self.run_id, {RETRY_ON_FAILURE_TAG: "false"})
        raise dg.Failure(description=CANCELLED, allow_retries=False)

    def started(self, *, retry_number: int = 0) -> None:
        """Every step with a retry policy calls this, with its ``context.retry_number``: a retry
        run may start at any step, and a step's retry is counted on the job."""
        self.stop_if_cancelled()
        if self._store:
            self._store.run_started(
                self.job_id, self.source, run_id=self.run_id, step_retry=retry_number > 0
            )

    def progress(self, done: int, total: int, *, cancellable: bool = True) -> None:
        """Record progress, then stop if the job was cancelled (unless the work is done: once
        the index step has published, the documents are searchable and the source succeeded)."""
        if self._store:
            self._store.progress(self.job_id, self.source, done=done, total=total)
            if cancellable:
                self.stop_if_cancelled()

    def finished(
        self, *, failures: list[dict], artifact_uris: list[str], retried: list[dict]
    ) -> None:
        if self._store:
            self._store.run_finished(
                self.job_id,
                self.source,
                status="succeeded",
                failures=failures,
                artifact_uris=artifact_uris,
                retried=retried,
            )
