"""Hybrid retrieval: encode the query both ways, scope it to the tenant, fuse, time each stage."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from catalyst_search.embed.dense import DenseEncoder
from catalyst_search.embed.sparse import SparseEncoder
from catalyst_search.index.backend import Fusion, HybridQuery, IndexReader
from catalyst_search.index.filters import FilterSpec, tenant_filter
from catalyst_search.index.schema import Hit

Retrieval = Literal["hybrid", "dense", "sparse"]


@dataclass(frozen=True)
class RetrievalConfig:
    prefetch_limit: int = 50
    fusion: Fusion = "rrf"
    rrf_k: int = 2
    hnsw_ef: int | None = 128
    exact: bool = False


@dataclass
class RetrievalResult:
    hits: list[Hit]
    index_version: str | None
    timings_ms: dict[str, float] = field(default_factory=dict)


class Retriever:
    """Runs one search against an ``IndexReader`` with the shared encoders."""

    def __init__(
        self,
        reader: IndexReader,
        dense: DenseEncoder,
        sparse: SparseEncoder,
        config: RetrievalConfig | None = None,
    ) -> None:
        self.reader = reader
        self.dense = dense
        self.sparse = sparse
        self.config = config or RetrievalConfig()

    def search(
        self,
        *,
        tenant_id: str,
        query: str,
        top_k: int = 10,
        filters: FilterSpec | None = None,
        retrieval: Retrieval = "hybrid",
    ) -> RetrievalResult:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        dense_vec = sparse_vec = None
        if retrieval in ("hybrid", "dense"):
            dense_vec = self.dense.encode_query(query)
            timings["encode_dense"] = _ms_since(started)
        if retrieval in ("hybrid", "sparse"):
            mark = time.perf_counter()
            sparse_vec = self.sparse.encode_query(query)
            timings["encode_sparse"] = _ms_since(mark)
        if sparse_vec is not None and not sparse_vec.indices:
            sparse_vec = None  # only stopwords: nothing for BM25 to match
        mark = time.perf_counter()
        cfg = self.config
        if dense_vec is None and sparse_vec is None:
            timings["total"] = _ms_since(started)
            return RetrievalResult(hits=[], index_version=self.reader.version, timings_ms=timings)
        hits = self.reader.query(
            HybridQuery(
                dense=dense_vec,
                sparse=sparse_vec,
                filter=tenant_filter(tenant_id, filters),
                limit=top_k,
                prefetch_limit=max(cfg.prefetch_limit, top_k),
                fusion=cfg.fusion,
                rrf_k=cfg.rrf_k,
                hnsw_ef=cfg.hnsw_ef,
                exact=cfg.exact,
            )
        )
        timings["query"] = _ms_since(mark)
        timings["total"] = _ms_since(started)
        return RetrievalResult(hits=hits, index_version=self.reader.version, timings_ms=timings)


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)
