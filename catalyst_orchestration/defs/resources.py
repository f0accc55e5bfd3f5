"""Resources: one per real client, each opened once per step process and closed after it
(the Redis clients behind ``CATALYST_QUEUE``; the SQLite stores open a connection per call).

Every value comes from the one ``Settings`` object (``CATALYST_*``, parsed once per process), so
the runs and the search service agree on where the index, the stores and the queue live. URLs
and secrets a deployment sets are bound with ``dg.EnvVar``: Dagster reads them when a run
starts and shows the variable's name, never its value, in the UI.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TypeVar

import dagster as dg
from prometheus_client import push_to_gateway
from pydantic import PrivateAttr, SecretStr

from catalyst_orchestration.defs.requests.tracking import RunTracker
from catalyst_orchestration.lib.artifacts import LocalArtifactStore
from catalyst_orchestration.lib.chunking import Chunker, ChunkingConfig
from catalyst_orchestration.lib.run_metrics import JOB, IngestTotals, totals_registry
from catalyst_orchestration.lib.state import StateStore
from catalyst_search.embed.dense import DenseEncoder
from catalyst_search.embed.sparse import SparseEncoder, estimate_avg_len
from catalyst_search.index.contract import IndexWriter
from catalyst_search.index.factory import open_writer
from catalyst_search.index.meta import IndexMeta, load_meta, save_meta
from catalyst_search.ingest_requests.jobs import JobStore
from catalyst_search.ingest_requests.queue import IngestQueue
from catalyst_search.ingest_requests.stores import open_jobs, open_queue
from catalyst_search.settings import Settings, get_settings
from catalyst_search.settings.text import without_credentials

T = TypeVar("T")


def _settings(**overrides: object) -> Settings:
    """The process's settings, with the values a resource was configured with on top."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return get_settings().model_copy(update=given) if given else get_settings()


def _opened(client: T | None, name: str) -> T:
    if client is None:
        raise RuntimeError(f"the {name} resource is used outside a step (it is not set up)")
    return client


class StateStoreResource(dg.ConfigurableResource):
    """Registered sources and the document manifest (SQLite under ``CATALYST_HOME``)."""

    _store: StateStore | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._store = StateStore(_settings().state_db)

    @property
    def store(self) -> StateStore:
        return _opened(self._store, "state")

    def source_roots(self, tenant_id: str) -> tuple[Path, ...]:
        """The folders ``tenant_id``'s local sources must lie under (``CATALYST_SOURCE_ROOTS``)."""
        return _settings().source_roots_for(tenant_id)


class ArtifactStoreResource(dg.ConfigurableResource):
    """Raw document bytes, content-addressed, under ``CATALYST_HOME/artifacts``."""

    _store: LocalArtifactStore | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._store = LocalArtifactStore(_settings().artifacts_dir)

    @property
    def store(self) -> LocalArtifactStore:
        return _opened(self._store, "artifacts")


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


class QdrantIndexResource(dg.ConfigurableResource):
    """The index a run writes to: the embedded shard or a Qdrant server's collection.

    The writer is opened inside the ``index`` step, not when the run starts: on the embedded
    backend opening it takes the writer lock, and a lock held elsewhere must fail that step
    (which retries) rather than the whole run.
    """

    qdrant_url: str | None = None  # CATALYST_QDRANT_URL
    qdrant_api_key: str | None = None  # CATALYST_QDRANT_API_KEY

    def _settings(self) -> Settings:
        key = SecretStr(self.qdrant_api_key) if self.qdrant_api_key else None
        return _settings(qdrant_url=self.qdrant_url, qdrant_api_key=key)

    @property
    def collection(self) -> str:
        return self._settings().collection

    @property
    def backend(self) -> str:
        return self._settings().index_backend

    def open_writer(self) -> IndexWriter:
        """The writer (holding the writer lock on the embedded backend); the caller closes it."""
        return open_writer(self._settings())

    def meta(self, *, sample_texts: list[str]) -> IndexMeta:
        """The index-wide BM25 and model settings, fixed by the first ingest."""
        cfg = self._settings()
        meta = load_meta(cfg.index_dir, cfg.collection)
        if meta is None:
            avg_len = cfg.bm25_avg_len or estimate_avg_len(sample_texts)
            meta = IndexMeta(bm25_avg_len=avg_len, dense_model=DenseEncoder.name)
            save_meta(cfg.index_dir, cfg.collection, meta)
        return meta


class EncodersResource(dg.ConfigurableResource):
    """The encoders and chunker ingestion shares with search (weights load once per process)."""

    batch_size: int | None = None  # default: CATALYST_DENSE_BATCH_SIZE

    _dense: DenseEncoder | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._dense = DenseEncoder(batch_size=self.batch_size or _settings().dense_batch_size)

    @property
    def dense(self) -> DenseEncoder:
        return _opened(self._dense, "encoders")

    @property
    def chunking(self) -> ChunkingConfig:
        cfg = _settings()
        return ChunkingConfig(max_tokens=cfg.chunk_tokens, overlap=cfg.chunk_overlap)

    def chunker(self) -> Chunker:
        return Chunker(self.chunking)

    def sparse(self, meta: IndexMeta) -> SparseEncoder:
        return SparseEncoder(avg_len=meta.bm25_avg_len)


class PushgatewayResource(dg.ConfigurableResource):
    """Where the ingestion counters are pushed (``CATALYST_PUSHGATEWAY_URL``); unset, nowhere."""

    url: str | None = None  # CATALYST_PUSHGATEWAY_URL
    timeout_s: float = 5.0
    #: CATALYST_PUSHGATEWAY_SETTLE_S: a new series is pushed at 0 and gets its counts this many
    #: seconds later (at least two scrape intervals of the gateway; 0: at once), see run_metrics
    settle_s: int = 60

    @property
    def _url(self) -> str | None:
        return self.url or _settings().pushgateway_url

    @property
    def configured(self) -> bool:
        return bool(self._url)

    def push_totals(self, totals: IngestTotals, *, log: logging.Logger) -> bool:
        """Replace the one ``job="catalyst_ingest"`` group with ``totals``; False (and a
        warning) when the gateway cannot be reached: monitoring never fails ingestion."""
        url = self._url
        if not url:
            return False
        try:
            push_to_gateway(url, job=JOB, registry=totals_registry(totals), timeout=self.timeout_s)
        except OSError as exc:
            log.warning(f"could not push ingest metrics to {without_credentials(url)}: {exc}")
            return False
        return True


SETTLE = "CATALYST_PUSHGATEWAY_SETTLE_S"


def _env(name: str) -> dg.EnvVar | None:
    """``name`` as a Dagster EnvVar when the deployment sets it, else the settings' default."""
    return dg.EnvVar(name) if name in os.environ else None


def ingest_resources() -> dict[str, dg.ConfigurableResource]:
    """The resources of the code location, by the names assets and sensors ask for."""
    queue_url = _env("CATALYST_QUEUE")
    return {
        "state": StateStoreResource(),
        "artifacts": ArtifactStoreResource(),
        "queue": IngestQueueResource(queue_url=queue_url),
        "jobs": JobStoreResource(queue_url=queue_url),
        "qdrant": QdrantIndexResource(
            qdrant_url=_env("CATALYST_QDRANT_URL"),
            qdrant_api_key=_env("CATALYST_QDRANT_API_KEY"),
        ),
        "encoders": EncodersResource(),
        "pushgateway": PushgatewayResource(
            url=_env("CATALYST_PUSHGATEWAY_URL"),
            settle_s=dg.EnvVar.int(SETTLE) if SETTLE in os.environ else 60,
        ),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=ingest_resources())
