"""The embedded reader: serves the newest published version, swapping without pausing queries."""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from catalyst_search.index import qdrant_shapes
from catalyst_search.index.contract import HybridQuery, IndexNotReady
from catalyst_search.index.embedded import conversion, versions
from catalyst_search.index.filters import FilterSpec
from catalyst_search.index.fusion import UUID_INTS, Candidate, run_query
from catalyst_search.index.schema import DENSE_VECTOR, Hit


class _Loaded:
    """A loaded version with a count of queries in flight and its own lease, closed (and the
    lease given back) once retired and idle."""

    def __init__(self, name: str, shard: qe.EdgeShard, lease: versions.ReaderLease) -> None:
        self.name = name
        self.shard = shard
        self.lease = lease
        self.in_flight = 0
        self.retired = False


class EmbeddedReader:
    """Serves the newest published version, swapping to a newer one without pausing queries.

    The version is looked for when the reader opens and, at most every ``refresh_s``, when a
    query arrives; ``version`` reports the loaded one without touching the disk.
    """

    def __init__(
        self,
        root: Path,
        *,
        refresh_s: float = 0.5,
        version: str | None = None,
        search_threads: int = 1,
    ) -> None:
        """``version``: serve that one and never swap (an index helper process's reader).
        ``search_threads``: Qdrant Edge's search pool (``CATALYST_INDEX_SEARCH_THREADS``)."""
        self._root = root
        self._config = conversion.load_config(search_threads)
        self._refresh_s = math.inf if version else refresh_s
        self._pinned = version
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None
        self._checked_at = 0.0
        self.refresh(force=True)

    @property
    def version(self) -> str | None:
        loaded = self._loaded
        return loaded.name if loaded else None

    def refresh(self, *, force: bool = False) -> str | None:
        """Load the newest version if CURRENT moved; cheap when called often."""
        now = time.monotonic()
        fresh = now - self._checked_at < self._refresh_s
        if not force and self._loaded is not None and fresh:
            return self.version
        self._checked_at = now
        name = self._pinned or versions.current_version(self._root)
        if name is None or (self._loaded and self._loaded.name == name):
            return self.version
        with self._lock:
            if self._loaded and self._loaded.name == name:
                return name
            lease = versions.ReaderLease(self._root)  # its own: the old one's queries may run on
            lease.hold(name)
            try:
                shard = conversion.load_shard(versions.version_dir(self._root, name), self._config)
            except BaseException:  # the version in use keeps its lease; this one is not used
                lease.release()
                raise
            old, self._loaded = self._loaded, _Loaded(name, shard, lease)
            if old is not None:
                old.retired = True
                self._close_if_idle(old)
        return name

    @staticmethod
    def _close_if_idle(loaded: _Loaded) -> None:
        if loaded.retired and loaded.in_flight == 0:
            loaded.shard.close()
            loaded.lease.release()

    @contextlib.contextmanager
    def _acquire(self) -> Iterator[qe.EdgeShard]:
        self.refresh()
        with self._lock:
            loaded = self._loaded
            if loaded is None:
                raise IndexNotReady("no index version has been published yet")
            loaded.in_flight += 1
        try:
            yield loaded.shard
        finally:
            with self._lock:
                loaded.in_flight -= 1
                self._close_if_idle(loaded)

    def query(self, query: HybridQuery, timings: dict[str, float] | None = None) -> list[Hit]:
        with self._acquire() as shard:
            if query.engine_fused:
                return _engine_fused(shard, query)
            return run_query(
                query,
                lambda q: _legs(shard, q),
                lambda ids: _payloads(shard, ids),
                timings,
                UUID_INTS,
            )

    def count(self, flt: FilterSpec) -> int:
        with self._acquire() as shard:
            return int(shard.count(conversion.count_request(flt)))

    def dense_vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        if not ids:
            return {}
        found: dict[str, list[float]] = {}
        with self._acquire() as shard:
            records = shard.retrieve(list(ids), with_payload=False, with_vector=[DENSE_VECTOR])
            for record in records:
                vector = qdrant_shapes.dense_of(record)
                if vector is not None:
                    found[str(record.id)] = vector
        return found

    def close(self) -> None:
        with self._lock:
            if self._loaded is not None:
                self._loaded.retired = True
                self._close_if_idle(self._loaded)
                self._loaded = None


def _legs(shard: qe.EdgeShard, query: HybridQuery) -> list[list[Candidate]]:
    """Run the dense and/or sparse leg as one planned batch; ids (as integers: ``UUID_INTS``)
    and scores only."""
    params = conversion.search_params(hnsw_ef=query.hnsw_ef, exact=query.exact)
    flt = conversion.to_filter(query.filter)
    requests = [
        qe.QueryRequest(
            limit=query.leg_limit, query=q, filter=flt, params=params, with_payload=False
        )
        for q in conversion.leg_queries(query)
    ]
    results = shard.query_batch(qe.QueryBatchRequest(requests))
    # every id we write is a UUID (schema.point_id), which Qdrant Edge gives back as uuid.UUID
    return [[Candidate(p.id.int, p.score) for p in points] for points in results]  # type: ignore[union-attr]


def _engine_fused(shard: qe.EdgeShard, query: HybridQuery) -> list[Hit]:
    """Prefetch both legs and fuse inside Qdrant Edge."""
    params = conversion.search_params(hnsw_ef=query.hnsw_ef, exact=query.exact)
    flt = conversion.to_filter(query.filter)
    request = qe.QueryRequest(
        limit=query.limit,
        query=conversion.fusion_query(query),
        prefetches=[
            qe.Prefetch(limit=query.prefetch_limit, query=leg, filter=flt, params=params)
            for leg in conversion.leg_queries(query)
        ],
        filter=flt,
        with_payload=True,
    )
    return [
        Hit(id=str(p.id), score=float(p.score), payload=dict(p.payload or {}))
        for p in shard.query(request)
    ]


def _payloads(shard: qe.EdgeShard, ids: list[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    records = shard.retrieve(list(ids), with_payload=True, with_vector=False)
    return {str(r.id): dict(r.payload or {}) for r in records}
