"""The index contract: the query both backends answer and the reader and writer protocols.

Nothing here knows a backend; ``factory`` picks one, and each backend package (``embedded``,
``server``) implements these protocols with the same shape: conversion, reader, writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from catalyst_search.index.filters import FilterSpec
from catalyst_search.index.schema import DENSE_VECTOR, SPARSE_VECTOR, ChunkPoint, Hit, SparseVec
from catalyst_search.options import Fusion, FusionSite


class IndexNotReady(RuntimeError):
    """No index version is loaded yet: the search service answers 503 until one is."""


@dataclass(frozen=True)
class HybridQuery:
    """A retrieval request in index terms: vectors, filter, limits and fusion.

    With both vectors the query prefetches ``prefetch_limit`` candidates from each and fuses
    them; with one vector it is a plain nearest-neighbour query on that vector.
    """

    dense: list[float] | None
    sparse: SparseVec | None
    filter: FilterSpec
    limit: int = 10
    prefetch_limit: int = 50
    fusion: Fusion = "rrf"
    rrf_k: int = 2
    weights: tuple[float, ...] | None = None  # per leg (dense, sparse), for RRF and DBSF
    hnsw_ef: int | None = None
    exact: bool = False
    #: client: legs fetched from Qdrant, fused here with ties broken by id (the default, the
    #: same on both backends); engine: Qdrant's own prefetch + fusion in one Query API call.
    fusion_site: FusionSite = "client"

    @property
    def engine_fused(self) -> bool:
        return self.fusion_site == "engine" and self.dense is not None and self.sparse is not None

    @property
    def leg_limit(self) -> int:
        """Candidates fetched per leg: a margin over ``prefetch_limit`` so that ties at the
        cut are decided by id, not by which tied points an engine happened to return."""
        return self.prefetch_limit + max(10, self.prefetch_limit // 4)

    def legs(self) -> list[tuple[str, list[float] | SparseVec]]:
        """(vector name, vector) of each leg the request has: dense first, then sparse."""
        found: list[tuple[str, list[float] | SparseVec]] = []
        if self.dense is not None:
            found.append((DENSE_VECTOR, self.dense))
        if self.sparse is not None:
            found.append((SPARSE_VECTOR, self.sparse))
        return found


class IndexReader(Protocol):
    """Read side: what the search service needs."""

    @property
    def version(self) -> str | None:
        """The index version being served as last seen (no I/O), or None when there is none."""
        ...

    def refresh(self) -> str | None:
        """Look for a newer version (rate-limited I/O) and return the one now served."""
        ...

    def query(self, query: HybridQuery, timings: dict[str, float] | None = None) -> list[Hit]: ...

    def count(self, flt: FilterSpec) -> int: ...

    def dense_vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        """The stored dense vectors of these points (those that exist)."""
        ...

    def close(self) -> None: ...


class IndexWriter(Protocol):
    """Write side: what ingestion needs. Writes become visible to readers at ``publish``."""

    def upsert(self, points: Sequence[ChunkPoint]) -> None: ...

    def delete(self, flt: FilterSpec) -> None: ...

    def count(self, flt: FilterSpec) -> int: ...

    def dense_sizes(self, flt: FilterSpec, *, limit: int) -> list[int]:
        """Lengths of the dense vectors of up to ``limit`` points matching ``flt``."""
        ...

    def publish(self) -> str:
        """Make all writes so far visible to readers; returns the new version name."""
        ...

    def current_version(self) -> str | None:
        """The newest published version, without publishing."""
        ...

    def close(self) -> None: ...
