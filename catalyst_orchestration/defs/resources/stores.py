"""The stores runs and sensors read and write: sources and manifest, artifacts, the ingest
queue, job records, the watched sources, and the feedback log with its boost versions."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import PrivateAttr

from catalyst_orchestration.defs.requests.tracking import RunTracker
from catalyst_orchestration.defs.resources.common import _opened, _settings
from catalyst_orchestration.lib.artifacts import ArtifactStore, LocalArtifactStore
from catalyst_orchestration.lib.feedback_files import DayFiles, LocalDayFiles, S3DayFiles
from catalyst_orchestration.lib.s3_artifacts import S3ArtifactStore
from catalyst_orchestration.lib.state_stores import StateBackend, open_state
from catalyst_search.feedback.factory import open_feedback
from catalyst_search.feedback.store import FeedbackStore
from catalyst_search.ingest_requests.jobs import JobStore
from catalyst_search.ingest_requests.preflight import check_bucket
from catalyst_search.ingest_requests.queue import IngestQueue
from catalyst_search.ingest_requests.remote import SourceRules, parse_s3_uri
from catalyst_search.ingest_requests.stores import open_jobs, open_queue


class StateStoreResource(dg.ConfigurableResource):
    """Registered sources, the document manifest and the S3 ETag cache: SQLite under
    ``CATALYST_HOME``, or PostgreSQL shared by every host (``CATALYST_STATE_URL``)."""

    _store: StateBackend | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._store = open_state(_settings())

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        close = getattr(self._store, "close", None)
        if close is not None:
            close()  # the PostgreSQL connection; SQLite opens one per call

    @property
    def store(self) -> StateBackend:
        return _opened(self._store, "state")

    def source_roots(self, tenant_id: str) -> tuple[Path, ...]:
        """The folders ``tenant_id``'s local sources must lie under (``CATALYST_SOURCE_ROOTS``)."""
        return _settings().source_roots_for(tenant_id)

    def source_rules(self, tenant_id: str) -> SourceRules:
        """Everything ``tenant_id``'s sources may name: folders, S3 prefixes, web pages."""
        return _settings().source_rules(tenant_id)


class ArtifactStoreResource(dg.ConfigurableResource):
    """Raw document bytes and extracted text, content-addressed: under
    ``CATALYST_HOME/artifacts``, or on S3 when ``CATALYST_ARTIFACT_STORE=s3://bucket/prefix``
    (its bucket is checked when the resource starts, and a missing one named with the fix)."""

    s3: S3Resource

    _store: ArtifactStore | None = PrivateAttr(default=None)
    _days: DayFiles | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        settings = _settings()
        if not settings.artifact_store:
            self._store = LocalArtifactStore(settings.artifacts_dir)
            self._days = LocalDayFiles(settings.artifacts_dir)
            return
        client = self.s3.get_client()
        problem = check_bucket(
            client, parse_s3_uri(settings.artifact_store)[0], "CATALYST_ARTIFACT_STORE"
        )
        if problem is not None:
            raise dg.Failure(description=str(problem), allow_retries=False)
        self._store = S3ArtifactStore(client, settings.artifact_store)
        self._days = S3DayFiles(client, settings.artifact_store)

    @property
    def store(self) -> ArtifactStore:
        return _opened(self._store, "artifacts")

    @property
    def feedback_days(self) -> DayFiles:
        """The feedback events' day files, beside the artifacts (feedback_files.py)."""
        return _opened(self._days, "feedback day files")


class IngestQueueResource(dg.ConfigurableResource):
    """The ingest queue the sensor claims requests from: Redis Streams or SQLite."""

    queue_url: str | None = None  # CATALYST_QUEUE; may carry a password

    _queue: IngestQueue | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._queue = open_queue(_settings(queue=self.queue_url))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._queue is not None:
            self._queue.close()

    @property
    def queue(self) -> IngestQueue:
        return _opened(self._queue, "queue")


class JobStoreResource(dg.ConfigurableResource):
    """Job records: runs report their progress into the job they belong to."""

    queue_url: str | None = None  # CATALYST_QUEUE: job records live beside the queue

    _jobs: JobStore | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._jobs = open_jobs(_settings(queue=self.queue_url))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._jobs is not None:
            self._jobs.close()

    @property
    def jobs(self) -> JobStore:
        return _opened(self._jobs, "jobs")

    def tracker(self, context: dg.AssetExecutionContext, *, source: str) -> RunTracker:
        """Progress reporting for the job this run belongs to (a no-op for runs without one)."""
        return RunTracker.for_run(context.run, self.jobs, source=source, instance=context.instance)


class FeedbackStoreResource(dg.ConfigurableResource):
    """The search log, the feedback log and the boost versions (beside the job records)."""

    queue_url: str | None = None  # CATALYST_QUEUE: the feedback log lives beside the queue

    _store: FeedbackStore | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._store = open_feedback(_settings(queue=self.queue_url))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._store is not None:
            self._store.close()

    @property
    def store(self) -> FeedbackStore:
        return _opened(self._store, "feedback")
