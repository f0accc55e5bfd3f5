"""The index a run writes to, and the encoders that fill it."""

from __future__ import annotations

import dagster as dg
from pydantic import PrivateAttr, SecretStr

from catalyst_orchestration.defs.resources.common import _opened, _settings
from catalyst_orchestration.lib.chunking import Chunker, ChunkingConfig
from catalyst_orchestration.lib.state_stores import StateBackend, index_meta
from catalyst_search.embed.dense import DenseEncoder, EncoderMismatch
from catalyst_search.embed.sparse import SparseEncoder, estimate_avg_len
from catalyst_search.index.contract import IndexWriter
from catalyst_search.index.factory import open_writer
from catalyst_search.index.meta import IndexMeta
from catalyst_search.settings import Settings


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

    def meta(self, state: StateBackend, *, sample_texts: list[str]) -> IndexMeta:
        """The index-wide BM25 and model settings, fixed by the first ingest."""
        cfg = self._settings()

        def make() -> IndexMeta:
            avg_len = cfg.bm25_avg_len or estimate_avg_len(sample_texts)
            return IndexMeta(
                bm25_avg_len=avg_len,
                dense_model=DenseEncoder.name,
                dense_precision=cfg.encoder_precision,
            )

        return index_meta(state, cfg, make)


class EncodersResource(dg.ConfigurableResource):
    """The encoders and chunker ingestion shares with search (weights load once per process)."""

    batch_size: int | None = None  # default: CATALYST_DENSE_BATCH_SIZE

    _dense: DenseEncoder | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._dense = DenseEncoder.from_settings(_settings(), batch_size=self.batch_size, bulk=True)

    @property
    def dense(self) -> DenseEncoder:
        return _opened(self._dense, "encoders")

    @property
    def chunking(self) -> ChunkingConfig:
        cfg = _settings()
        return ChunkingConfig(max_tokens=cfg.chunk_tokens, overlap=cfg.chunk_overlap)

    def chunker(self) -> Chunker:
        return Chunker(self.chunking)

    def dense_for(self, meta: IndexMeta) -> DenseEncoder:
        """The dense encoder, if it is the one whose vectors the index holds: a step that
        would mix two encoders' vectors fails, without retries."""
        try:
            self.dense.check_index((meta.dense_model, meta.dense_precision))
        except EncoderMismatch as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        return self.dense

    def sparse(self, meta: IndexMeta) -> SparseEncoder:
        return SparseEncoder(avg_len=meta.bm25_avg_len)
