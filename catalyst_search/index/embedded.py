"""The embedded backend: Qdrant Edge in-process, one writer publishing versions, many readers."""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import qdrant_edge as qe

from catalyst_search.index import edge, versions
from catalyst_search.index.backend import HybridQuery, IndexNotReady, run_query
from catalyst_search.index.filters import FilterSpec
from catalyst_search.index.schema import DENSE_VECTOR, ChunkPoint, Hit

_UPSERT_BATCH = 512


class EmbeddedWriter:
    """Writes to the live shard under the exclusive writer lock; ``publish`` makes a version.

    Use as a context manager, or call ``close``; closing releases the lock. Writes that were not
    published are thrown away by the next writer (see ``versions``).
    """

    def __init__(self, root: Path, shard: qe.EdgeShard, lock: contextlib.ExitStack, keep: int):
        self._root = root
        self._shard = shard
        self._lock = lock
        self._keep = keep

    @classmethod
    def open(cls, root: Path, *, lock_timeout_s: float, versions_kept: int = 2) -> EmbeddedWriter:
        stack = contextlib.ExitStack()
        stack.enter_context(versions.writer_lock(root, timeout_s=lock_timeout_s))
        try:
            shard = cls._open_live(root)
        except BaseException:
            stack.close()
            raise
        return cls(root, shard, stack, versions_kept)

    @staticmethod
    def _open_live(root: Path) -> qe.EdgeShard:
        live, dirty = root / "live", root / "live.dirty"
        if dirty.exists() or not live.exists():
            shutil.rmtree(live, ignore_errors=True)
            current = versions.current_version(root)
            if current:
                versions.copy_tree_sparse(versions.version_dir(root, current), live)
                shard = qe.EdgeShard.load(str(live))
            else:
                shard = edge.create_shard(live)
                shard.flush()
            dirty.unlink(missing_ok=True)
            return shard
        return qe.EdgeShard.load(str(live))

    def _mark_dirty(self) -> None:
        (self._root / "live.dirty").touch()

    def upsert(self, points: Sequence[ChunkPoint]) -> None:
        if not points:
            return
        self._mark_dirty()
        for start in range(0, len(points), _UPSERT_BATCH):
            batch = [edge.to_point(p) for p in points[start : start + _UPSERT_BATCH]]
            self._shard.update(qe.UpdateOperation.upsert_points(batch))

    def delete(self, flt: FilterSpec) -> None:
        edge_filter = edge.to_filter(flt)
        if edge_filter is None:
            raise ValueError("refusing to delete with an empty filter")
        self._mark_dirty()
        self._shard.update(qe.UpdateOperation.delete_points_by_filter(edge_filter))

    def count(self, flt: FilterSpec) -> int:
        return edge.count(self._shard, flt)

    def dense_sizes(self, flt: FilterSpec, *, limit: int) -> list[int]:
        records, _ = self._shard.scroll(
            qe.ScrollRequest(limit=limit, filter=edge.to_filter(flt), with_vector=[DENSE_VECTOR])
        )
        sizes = []
        for record in records:
            vector = record.vector
            dense = vector.get(DENSE_VECTOR) if isinstance(vector, dict) else None
            sizes.append(len(dense) if isinstance(dense, list) else 0)
        return sizes

    def publish(self) -> str:
        """Optimize, flush and copy the live shard into a new version readers swap to."""
        self._shard.optimize()
        self._shard.flush()
        name = versions.publish(self._root, self._root / "live")
        (self._root / "live.dirty").unlink(missing_ok=True)
        versions.collect_garbage(self._root, keep=self._keep)
        return name

    def current_version(self) -> str | None:
        return versions.current_version(self._root)

    def close(self) -> None:
        try:
            self._shard.close()
        finally:
            self._lock.close()

    def __enter__(self) -> EmbeddedWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Loaded:
    """A loaded version with a count of queries in flight, closed once retired and idle."""

    def __init__(self, name: str, shard: qe.EdgeShard) -> None:
        self.name = name
        self.shard = shard
        self.in_flight = 0
        self.retired = False


class EmbeddedReader:
    """Serves the newest published version, swapping to a newer one without pausing queries."""

    def __init__(self, root: Path, *, refresh_s: float = 0.5) -> None:
        self._root = root
        self._refresh_s = refresh_s
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None
        self._checked_at = 0.0
        self._lease = versions.ReaderLease(root)

    @property
    def version(self) -> str | None:
        self.refresh()
        return self._loaded.name if self._loaded else None

    def refresh(self, *, force: bool = False) -> None:
        """Load the newest version if CURRENT moved; cheap when called often."""
        now = time.monotonic()
        fresh = now - self._checked_at < self._refresh_s
        if not force and self._loaded is not None and fresh:
            return
        self._checked_at = now
        name = versions.current_version(self._root)
        if name is None or (self._loaded and self._loaded.name == name):
            return
        with self._lock:
            if self._loaded and self._loaded.name == name:
                return
            self._lease.hold(name)
            shard = qe.EdgeShard.load(str(versions.version_dir(self._root, name)))
            old, self._loaded = self._loaded, _Loaded(name, shard)
            if old is not None:
                old.retired = True
                self._close_if_idle(old)

    @staticmethod
    def _close_if_idle(loaded: _Loaded) -> None:
        if loaded.retired and loaded.in_flight == 0:
            loaded.shard.close()

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
                return edge.engine_fused(shard, query)
            return run_query(
                query,
                lambda q: edge.legs(shard, q),
                lambda ids: edge.payloads(shard, ids),
                timings,
            )

    def count(self, flt: FilterSpec) -> int:
        with self._acquire() as shard:
            return edge.count(shard, flt)

    def dense_vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        with self._acquire() as shard:
            return edge.dense_vectors(shard, ids)

    def close(self) -> None:
        with self._lock:
            if self._loaded is not None:
                self._loaded.retired = True
                self._close_if_idle(self._loaded)
                self._loaded = None
        self._lease.release()
