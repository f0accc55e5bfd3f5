"""The small interface both index backends implement, and the factory that picks one."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from catalyst_search.index.filters import FilterSpec
from catalyst_search.index.fusion import Candidate, fuse
from catalyst_search.index.schema import ChunkPoint, Hit, SparseVec

if TYPE_CHECKING:
    from catalyst_search.settings import Settings

Fusion = Literal["rrf", "dbsf"]
FusionSite = Literal["client", "engine"]


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


def run_query(
    query: HybridQuery,
    legs: Callable[[HybridQuery], list[list[Candidate]]],
    payloads: Callable[[list[str]], dict[str, dict[str, Any]]],
    timings: dict[str, float] | None = None,
) -> list[Hit]:
    """What every backend's ``query`` does: fetch legs, fuse deterministically, load payloads.

    ``timings`` (when given) receives ``prefetch`` and ``fusion`` in milliseconds, the latter
    including the payload fetch of the fused top hits.
    """
    if query.dense is None and query.sparse is None:
        raise ValueError("a query needs a dense or a sparse vector")
    started = time.perf_counter()
    fetched = legs(query)
    mark = time.perf_counter()
    fused = fuse(
        fetched,
        limit=query.limit,
        prefetch_limit=query.prefetch_limit
        if query.dense is not None and query.sparse is not None
        else query.limit,
        method=query.fusion,
        rrf_k=query.rrf_k,
        weights=query.weights,
    )
    found = payloads([f.id for f in fused])
    if timings is not None:
        timings["prefetch"] = round((mark - started) * 1000, 3)
        timings["fusion"] = round((time.perf_counter() - mark) * 1000, 3)
    return [
        Hit(id=f.id, score=f.score, payload=found[f.id], ranks=f.ranks, leg_scores=f.leg_scores)
        for f in fused
        if f.id in found
    ]


class IndexReader(Protocol):
    """Read side: what the search service needs."""

    @property
    def version(self) -> str | None:
        """The index version being served, or None when there is none yet."""
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


def open_reader(settings: Settings) -> IndexReader:
    """The reader for the configured backend."""
    if settings.index_backend == "server":
        from catalyst_search.index.server import ServerIndex

        return ServerIndex.connect(settings)
    from catalyst_search.index.embedded import EmbeddedReader

    return EmbeddedReader(settings.index_dir, refresh_s=settings.index_refresh_s)


def open_writer(settings: Settings) -> IndexWriter:
    """The writer for the configured backend; on the embedded one this takes the writer lock."""
    if settings.index_backend == "server":
        from catalyst_search.index.server import ServerIndex

        index = ServerIndex.connect(settings)
        index.ensure_collection()
        return index
    from catalyst_search.index.embedded import EmbeddedWriter

    return EmbeddedWriter.open(
        settings.index_dir,
        lock_timeout_s=settings.writer_lock_timeout_s,
        versions_kept=settings.versions_kept,
    )
