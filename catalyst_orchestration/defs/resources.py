"""Resources: settings-backed access to the state store, artifacts, index and encoders."""

import dagster as dg
from pydantic import PrivateAttr

from catalyst_orchestration.lib.artifacts import LocalArtifactStore
from catalyst_orchestration.lib.chunking import Chunker, ChunkingConfig
from catalyst_orchestration.lib.state import StateStore
from catalyst_search.embed.dense import DenseEncoder
from catalyst_search.embed.sparse import SparseEncoder, estimate_avg_len
from catalyst_search.index.backend import IndexWriter, open_writer
from catalyst_search.index.meta import IndexMeta, load_meta, save_meta
from catalyst_search.settings import Settings, load_settings
from catalyst_search.stores.dispatch import open_jobs, open_queue
from catalyst_search.stores.jobs import JobStore
from catalyst_search.stores.queue import IngestQueue


class CatalystResource(dg.ConfigurableResource):
    """The CatalystIndex deployment a run writes to.

    Unset fields come from the ``CATALYST_*`` environment, as in the search service, so both
    sides agree on where the index lives. Nothing is opened until an asset asks.
    """

    home: str | None = None
    index_backend: str | None = None
    qdrant_url: str | None = None

    def settings(self) -> Settings:
        overrides = {
            key: value
            for key, value in (
                ("home", self.home),
                ("index_backend", self.index_backend),
                ("qdrant_url", self.qdrant_url),
            )
            if value is not None
        }
        return load_settings(**overrides)

    def state(self) -> StateStore:
        return StateStore(self.settings().state_db)

    def queue(self) -> IngestQueue:
        return open_queue(self.settings())

    def jobs(self) -> JobStore:
        return open_jobs(self.settings())

    def artifacts(self) -> LocalArtifactStore:
        return LocalArtifactStore(self.settings().artifacts_dir)

    def chunking(self) -> ChunkingConfig:
        cfg = self.settings()
        return ChunkingConfig(max_tokens=cfg.chunk_tokens, overlap=cfg.chunk_overlap)

    def open_writer(self) -> IndexWriter:
        return open_writer(self.settings())

    def index_meta(self, *, sample_texts: list[str]) -> IndexMeta:
        """The index-wide BM25 and model settings, fixed by the first ingest."""
        cfg = self.settings()
        meta = load_meta(cfg.index_dir, cfg.collection)
        if meta is None:
            avg_len = cfg.bm25_avg_len or estimate_avg_len(sample_texts)
            meta = IndexMeta(bm25_avg_len=avg_len, dense_model=DenseEncoder.name)
            save_meta(cfg.index_dir, cfg.collection, meta)
        return meta


class EncodersResource(dg.ConfigurableResource):
    """The shared dense and sparse encoders, loaded once per step process."""

    batch_size: int = 64
    _dense: DenseEncoder | None = PrivateAttr(default=None)

    def dense(self) -> DenseEncoder:
        if self._dense is None:
            self._dense = DenseEncoder(batch_size=self.batch_size)  # loads on first encode
        return self._dense

    def sparse(self, meta: IndexMeta) -> SparseEncoder:
        return SparseEncoder(avg_len=meta.bm25_avg_len)

    def chunker(self, config: ChunkingConfig) -> Chunker:
        return Chunker(config)


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={"catalyst": CatalystResource(), "encoders": EncodersResource()}
    )
