"""Runs started for an ingest job report their progress into the job record."""

from __future__ import annotations

import dagster as dg

from catalyst_orchestration.defs.resources import CatalystResource

JOB_TAG = "catalyst/job_id"
SOURCE_TAG = "catalyst/source"


class JobTracker:
    """Writes progress for the job a run belongs to; does nothing for runs without a job."""

    def __init__(self, context: dg.AssetExecutionContext, catalyst: CatalystResource) -> None:
        tags = context.run.tags
        self.job_id = tags.get(JOB_TAG)
        self.source = tags.get(SOURCE_TAG)
        self.run_id = context.run.run_id
        self._store = catalyst.jobs() if self.job_id else None

    def started(self) -> None:
        if self._store and self.job_id and self.source:
            self._store.run_started(self.job_id, self.source, run_id=self.run_id)

    def progress(self, done: int, total: int) -> None:
        if self._store and self.job_id and self.source:
            self._store.progress(self.job_id, self.source, done=done, total=total)

    def finished(self, *, failures: list[dict], artifact_uris: list[str]) -> None:
        if self._store and self.job_id and self.source:
            self._store.run_finished(
                self.job_id,
                self.source,
                status="succeeded",
                failures=failures,
                artifact_uris=artifact_uris,
            )
