"""The embedded writer: the live shard under the exclusive writer lock, published as versions."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Sequence
from pathlib import Path

import qdrant_edge as qe

from catalyst_search.index import qdrant_shapes
from catalyst_search.index.embedded import conversion, versions
from catalyst_search.index.filters import FilterSpec
from catalyst_search.index.schema import DENSE_VECTOR, ChunkPoint

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
    def open(
        cls, root: Path, *, lock_timeout_s: float, versions_kept: int = 2, search_threads: int = 1
    ) -> EmbeddedWriter:
        """``search_threads``: Qdrant Edge's search pool, as the readers' (kept in the shard's
        configuration, so the versions this writer publishes carry it)."""
        stack = contextlib.ExitStack()
        stack.enter_context(versions.writer_lock(root, timeout_s=lock_timeout_s))
        try:
            shard = cls._open_live(root, search_threads)
        except BaseException:
            stack.close()
            raise
        return cls(root, shard, stack, versions_kept)

    @staticmethod
    def _open_live(root: Path, search_threads: int) -> qe.EdgeShard:
        config = conversion.load_config(search_threads)
        live, dirty = root / "live", root / "live.dirty"
        if dirty.exists() or not live.exists():
            versions.create_durably(dirty)  # a power cut mid-rebuild: rebuilt again
            shutil.rmtree(live, ignore_errors=True)
            current = versions.current_version(root)
            if current:
                versions.copy_shard(versions.version_dir(root, current), live)
                shard = conversion.load_shard(live, config)
            else:
                shard = conversion.create_shard(live, conversion.shard_config(search_threads))
                shard.flush()
                versions.fsync_tree(live)
            dirty.unlink(missing_ok=True)
            return shard
        return conversion.load_shard(live, config)

    def _mark_dirty(self) -> None:
        """Before our first upsert or delete after a publish: Qdrant Edge writes ``live/`` in
        place, with no WAL, so the mark must reach the disk before those writes can."""
        marker = self._root / "live.dirty"
        if not marker.exists():
            versions.create_durably(marker)

    def upsert(self, points: Sequence[ChunkPoint]) -> None:
        if not points:
            return
        self._mark_dirty()
        for start in range(0, len(points), _UPSERT_BATCH):
            batch = [conversion.to_point(p) for p in points[start : start + _UPSERT_BATCH]]
            self._shard.update(qe.UpdateOperation.upsert_points(batch))

    def delete(self, flt: FilterSpec) -> None:
        edge_filter = conversion.to_filter(flt)
        if edge_filter is None:
            raise ValueError("refusing to delete with an empty filter")
        self._mark_dirty()
        self._shard.update(qe.UpdateOperation.delete_points_by_filter(edge_filter))

    def count(self, flt: FilterSpec) -> int:
        return int(self._shard.count(conversion.count_request(flt)))

    def dense_sizes(self, flt: FilterSpec, *, limit: int) -> list[int]:
        records, _ = self._shard.scroll(
            qe.ScrollRequest(
                limit=limit, filter=conversion.to_filter(flt), with_vector=[DENSE_VECTOR]
            )
        )
        return [len(qdrant_shapes.dense_of(record) or []) for record in records]

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
