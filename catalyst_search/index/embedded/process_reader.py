"""The embedded index queried from helper processes, so its searches do not hold the service's GIL.

Qdrant Edge's calls hold the GIL for their whole run: about 0.8 ms for a hybrid query over the
ICD index's 94k points alone, 2 to 3 ms while the service is busy. In the service's own process
that time stops everything else Python does (the event loop, the query batcher, other
searches' fusion): at concurrency 8 the service used 1.35 of its 2 cores, and more threads did
not help (docs/performance.md). Each helper process opens an ``EmbeddedReader`` over the same
index directory (published versions never change, and the page cache holds them once) and
answers ``query`` (legs, fusion and payloads: a few hits go back, not the candidates), ``count``
and ``dense_vectors`` over a pipe; while a search waits on it, the service's GIL is free.

A helper that dies is started again and the read it was serving asked again, once: reads have
no side effects. An error the read itself raised (``IndexNotReady``, a bad filter) is the
caller's and the helper stays. A helper that does not answer within ``read_timeout_s`` is
killed (the caller gets ``TimeoutError``) and another started on the next read. Closing the
reader stops the helpers; a helper whose service died without closing it sees its pipe close
and exits.

A new version is not loaded by the helpers serving reads: loading one holds a helper for as
long as Qdrant Edge takes (about a second for the ICD index), and every read would queue
behind it. The pool looks for a new version (a read of ``CURRENT``, at most every
``refresh_s`` on reads and at every ``refresh``) and starts a new generation of helpers on it
in the background; reads go on to the old ones until the new ones are ready, then the old
ones are stopped (a busy one when its read ends) and their version's lease with them. Every
helper of a generation serves its version, one restarted after a crash too; only helpers
started before the first publish load the first version in place. A version whose helpers
cannot start is reported once and not tried again; the old helpers go on serving until the
next publish.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from catalyst_search.index.contract import HybridQuery
from catalyst_search.index.embedded import versions
from catalyst_search.index.embedded.helper import Helper, HelperLost
from catalyst_search.index.filters import FilterSpec
from catalyst_search.index.schema import Hit

log = logging.getLogger("catalyst_search.index")


class ProcessReader:
    """An ``IndexReader`` over the embedded index, its reads served by ``processes`` helpers."""

    def __init__(
        self,
        root: Path,
        *,
        refresh_s: float,
        processes: int,
        read_timeout_s: float = 30.0,
        search_threads: int = 1,
    ) -> None:
        if processes < 1:
            raise ValueError("a ProcessReader needs at least one process")
        self._root, self._refresh_s, self._processes = root, refresh_s, processes
        self._search_threads = search_threads  # each helper's Qdrant Edge search pool
        self._timeout_s = read_timeout_s
        self._idle: deque[Helper] = deque()  # first in, first out: every helper stays fresh
        self._missing = 0  # helpers lost, started again by the next read that finds none idle
        self._generation = 0  # helpers of an older one are stopped when their read ends
        self._version = versions.current_version(root)  # None: they load the first in place
        self._failed: str | None = None  # a version helpers could not open: not tried again
        self._swapping = False  # a new generation is starting
        self._swapper: threading.Thread | None = None
        self._checked_at = time.monotonic()
        self._ready = threading.Condition()
        self._closed = False
        try:
            for _ in range(processes):
                self._idle.append(self._start(0))
        except BaseException:
            self.close()
            raise
        self._version = self._version or self._idle[0].version

    @property
    def version(self) -> str | None:
        return self._version

    @property
    def pids(self) -> list[int | None]:
        """The helpers' process ids (those not serving a read this moment)."""
        with self._ready:
            return [helper.process.pid for helper in self._idle]

    def _start(self, generation: int) -> Helper:
        """A helper on the version served now (the pool's, so a restart does not move it)."""
        return self._helper(self._version, generation)

    def _helper(self, version: str | None, generation: int) -> Helper:
        return Helper(
            self._root, self._timeout_s, version, generation, search_threads=self._search_threads
        )

    def _checkout(self) -> Helper:
        with self._ready:
            while not self._idle and not self._missing and not self._closed:
                self._ready.wait()
            if self._closed:
                raise RuntimeError("the index reader is closed")
            if self._idle:
                return self._idle.popleft()
            self._missing -= 1
            generation = self._generation
        try:
            return self._start(generation)
        except BaseException:
            self._checkin(None, generation)
            raise

    def _checkin(self, helper: Helper | None, generation: int) -> None:
        with self._ready:
            current = generation == self._generation and not self._closed
            if current and helper is None:
                self._missing += 1
            elif current and helper is not None:
                self._idle.append(helper)
                if self._version is None:  # the first version, loaded in place
                    self._version = helper.version
            self._ready.notify()
        if not current and helper is not None:  # closed, or an older generation's: not on
            threading.Thread(target=helper.stop, name="index-reader-stop", daemon=True).start()

    def _call(self, op: str, arg: Any = None) -> Any:
        self._look_for_new_version()
        first = self._checkout()
        generation = first.generation
        helper: Helper | None = first
        try:
            try:
                status, value = first.call(op, arg)
            except HelperLost:
                log.warning("an index reader process exited; starting another")
                first.stop()
                helper = None
                if generation == self._generation:
                    again = helper = self._start(generation)  # its replacement
                else:  # an older generation's: a current helper answers instead
                    again = helper = self._checkout()
                    generation = again.generation
                status, value = again.call(op, arg)  # a read: safe to ask again
        except BaseException as exc:  # lost, silent, or its answer left unread: never reused
            if helper is not None:
                helper.stop(patience_s=0 if isinstance(exc, TimeoutError) else 5)
                helper = None
            raise
        finally:
            self._checkin(helper, generation)
        if status == "error":
            raise value
        return value

    def _look_for_new_version(self, *, force: bool = False) -> None:
        """Start a generation of helpers on a newer published version, in the background."""
        now = time.monotonic()
        if not force and now - self._checked_at < self._refresh_s:
            return
        self._checked_at = now
        newest = versions.current_version(self._root)
        with self._ready:
            if self._swapping or self._closed or self._version is None or not newest:
                return  # (no version yet: the helpers load the first one in place)
            if newest in (self._version, self._failed):
                return
            self._swapping = True
            self._swapper = threading.Thread(
                target=self._swap, args=(newest,), name="index-reader-swap", daemon=True
            )
            self._swapper.start()

    def _swap(self, newest: str) -> None:
        fresh: list[Helper] = []
        swapped = False
        try:
            for _ in range(self._processes):
                if self._closed:
                    break
                fresh.append(self._helper(newest, self._generation + 1))
        except Exception as exc:  # the old helpers go on serving
            self._failed = newest
            log.warning(
                "index readers could not open version %s (still serving %s): %s",
                newest,
                self._version,
                exc,
            )
        finally:
            with self._ready:
                self._swapping = False
                swapped = len(fresh) == self._processes and not self._closed
                old = fresh
                if swapped:
                    self._generation += 1
                    old, self._idle = list(self._idle), deque(fresh)
                    self._missing = 0
                    self._version = newest
                    self._ready.notify_all()
            for helper in old:  # the old generation's idle helpers, or the unused new ones
                helper.stop()
        if swapped:
            log.info("index readers now serve version %s", newest)

    def refresh(self) -> str | None:
        """The version served; a newer one is started in the background (see the module)."""
        self._look_for_new_version(force=True)
        if self._version is None:
            return self._call("refresh")  # the first version: a helper loads it in place
        return self._version

    def query(self, query: HybridQuery, timings: dict[str, float] | None = None) -> list[Hit]:
        """``timings`` gets the helper's ``prefetch`` and ``fusion``, and ``index``: the whole
        call as this process saw it. ``index`` less the two is the pipe both ways (pickling
        included) and any wait: for a free helper, for the periodic look at ``CURRENT``, for
        another helper to start after one died."""
        started = time.perf_counter()
        hits, took = self._call("query", query)
        if timings is not None:
            timings.update(took)
            timings["index"] = round((time.perf_counter() - started) * 1000, 3)
        return hits

    def count(self, flt: FilterSpec) -> int:
        return int(self._call("count", flt))

    def dense_vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        return self._call("dense_vectors", list(ids))

    def close(self) -> None:
        with self._ready:
            self._closed = True
            helpers, self._idle = self._idle, deque()
            swapper = self._swapper
            self._ready.notify_all()
        for helper in helpers:
            helper.stop()
        if swapper is not None:  # a generation still starting stops what it started
            swapper.join(timeout=60.0 * self._processes + 10)
