"""The embedded index queried from helper processes, so its searches do not hold the service's GIL.

Qdrant Edge's calls hold the GIL for their whole run: about 0.8 ms for a hybrid query over the
ICD index's 94k points alone, 2 to 3 ms while the service is busy. In the service's own process
that time stops everything else Python does (the event loop, the query batcher, other
searches' fusion): at concurrency 8 the service used 1.35 of its 2 cores, and more threads did
not help (docs/performance.md). Each helper process opens an ``EmbeddedReader`` over the same
index directory (published versions never change, and the page cache holds them once) and
answers ``query`` (legs, fusion and payloads: a few hits go back, not the candidates), ``count``
and ``dense_vectors`` over a pipe; while a search waits on it, the service's GIL is free.

A helper that dies is started again and the read it was serving is retried once: reads have no
side effects. Closing the reader stops the helpers; a helper whose service died without
closing it sees its pipe close and exits.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from catalyst_search.index.contract import HybridQuery
from catalyst_search.index.filters import FilterSpec
from catalyst_search.index.schema import Hit

log = logging.getLogger("catalyst_search.index")
_LOST = (EOFError, OSError)  # the helper exited: its pipe is closed or broken


def _serve(conn: Connection, root: str, refresh_s: float) -> None:
    """A helper's loop: one read at a time, until told to close or its service is gone."""
    from catalyst_search.index.embedded.reader import EmbeddedReader

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the service, which stops us
    reader = EmbeddedReader(Path(root), refresh_s=refresh_s)
    conn.send(("ok", None, reader.version))
    try:
        while True:
            try:
                op, arg = conn.recv()
            except EOFError:
                return
            if op == "close":
                return
            try:
                conn.send(("ok", _answer(reader, op, arg), reader.version))
            except Exception as exc:  # the caller raises it (IndexNotReady, a bad filter, ...)
                try:
                    conn.send(("error", exc, reader.version))
                except Exception:  # an exception that does not pickle
                    conn.send(("error", RuntimeError(repr(exc)), reader.version))
    finally:
        reader.close()


def _answer(reader: Any, op: str, arg: Any) -> Any:
    if op == "query":
        timings: dict[str, float] = {}
        return reader.query(arg, timings), timings
    if op == "count":
        return reader.count(arg)
    if op == "dense_vectors":
        return reader.dense_vectors(arg)
    if op == "refresh":
        return reader.refresh()
    raise ValueError(f"unknown read {op!r}")


class _Helper:
    def __init__(self, root: Path, refresh_s: float, start_timeout_s: float) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        self.conn, theirs = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(theirs, str(root), refresh_s), name="index-reader", daemon=True
        )
        self.process.start()
        theirs.close()
        if not self.conn.poll(start_timeout_s):
            self.stop()
            raise RuntimeError(f"the index reader process did not start in {start_timeout_s:g}s")
        self.version: str | None = self.conn.recv()[2]

    def call(self, op: str, arg: Any) -> Any:
        self.conn.send((op, arg))
        status, value, self.version = self.conn.recv()
        if status == "error":
            raise value
        return value

    def stop(self) -> None:
        with contextlib.suppress(EOFError, OSError):
            self.conn.send(("close", None))
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()


class ProcessReader:
    """An ``IndexReader`` over the embedded index, its reads served by ``processes`` helpers."""

    def __init__(
        self, root: Path, *, refresh_s: float, processes: int, start_timeout_s: float = 60
    ) -> None:
        if processes < 1:
            raise ValueError("a ProcessReader needs at least one process")
        self._args = (root, refresh_s, start_timeout_s)
        self._idle: list[_Helper] = []
        self._ready = threading.Condition()
        self._closed = False
        try:
            for _ in range(processes):
                self._idle.append(_Helper(*self._args))
        except BaseException:
            self.close()
            raise
        self._version = self._idle[0].version

    @property
    def version(self) -> str | None:
        return self._version

    @property
    def pids(self) -> list[int | None]:
        """The helpers' process ids (those not serving a read this moment)."""
        with self._ready:
            return [helper.process.pid for helper in self._idle]

    def _call(self, op: str, arg: Any = None) -> Any:
        with self._ready:
            while not self._idle and not self._closed:
                self._ready.wait()
            if self._closed:
                raise RuntimeError("the index reader is closed")
            helper = self._idle.pop()
        try:
            try:
                return helper.call(op, arg)
            except _LOST:
                log.warning("an index reader process exited; starting another")
                helper.stop()
                helper = _Helper(*self._args)
                return helper.call(op, arg)  # a read: safe to ask again
        finally:
            self._version = helper.version
            with self._ready:
                closed = self._closed
                if not closed:
                    self._idle.append(helper)
                    self._ready.notify()
            if closed:  # closed while this read ran
                helper.stop()

    def refresh(self) -> str | None:
        return self._call("refresh")

    def query(self, query: HybridQuery, timings: dict[str, float] | None = None) -> list[Hit]:
        hits, took = self._call("query", query)
        if timings is not None:
            timings.update(took)
        return hits

    def count(self, flt: FilterSpec) -> int:
        return int(self._call("count", flt))

    def dense_vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        return self._call("dense_vectors", list(ids))

    def close(self) -> None:
        with self._ready:
            self._closed = True
            helpers, self._idle = self._idle, []
            self._ready.notify_all()
        for helper in helpers:
            helper.stop()
