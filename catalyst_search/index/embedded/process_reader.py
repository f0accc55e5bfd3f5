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
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import threading
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from catalyst_search.index.contract import HybridQuery
from catalyst_search.index.filters import FilterSpec
from catalyst_search.index.schema import Hit

log = logging.getLogger("catalyst_search.index")


class HelperLost(RuntimeError):
    """An index reader process exited (its pipe closed or broke) before it answered."""


def _serve(conn: Connection, root: str, refresh_s: float) -> None:
    """A helper's loop: one read at a time, until told to close or its service is gone."""
    from catalyst_search.index.embedded.reader import EmbeddedReader

    for stop in (signal.SIGINT, signal.SIGTERM):  # the service stops us when it has finished
        signal.signal(stop, signal.SIG_IGN)  # (a closed pipe, if it could not)
    try:
        reader = EmbeddedReader(Path(root), refresh_s=refresh_s)
    except Exception as exc:  # a damaged index: the service reports why it cannot start
        _send_error(conn, exc, None)
        return
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
                answer = _answer(reader, op, arg)
            except Exception as exc:  # the caller raises it (IndexNotReady, a bad filter, ...)
                _send_error(conn, exc, reader.version)
            else:
                conn.send(("ok", answer, reader.version))
    finally:
        reader.close()


def _send_error(conn: Connection, exc: Exception, version: str | None) -> None:
    try:
        conn.send(("error", exc, version))
    except Exception:  # an exception that does not pickle (nothing was sent: it pickles first)
        conn.send(("error", RuntimeError(repr(exc)), version))


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
    def __init__(self, root: Path, refresh_s: float, timeout_s: float) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        self.conn, theirs = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(theirs, str(root), refresh_s), name="index-reader", daemon=True
        )
        self.process.start()
        theirs.close()
        self.timeout_s = timeout_s
        self.version: str | None = None
        try:
            status, value = self._reply(max(timeout_s, 60.0))  # start-up imports take a while
        except BaseException:
            self.stop()
            raise
        if status == "error":
            self.stop()
            raise value

    def call(self, op: str, arg: Any) -> tuple[str, Any]:
        """("ok", answer) or ("error", what the read raised); HelperLost or TimeoutError when
        the helper cannot be trusted any more (the caller stops it)."""
        try:
            self.conn.send((op, arg))
        except (EOFError, OSError) as exc:
            raise HelperLost("the index reader process exited") from exc
        return self._reply(self.timeout_s)

    def _reply(self, timeout_s: float) -> tuple[str, Any]:
        try:
            reply = self.conn.recv() if self.conn.poll(timeout_s) else None
        except (EOFError, OSError) as exc:
            raise HelperLost("the index reader process exited") from exc
        if reply is None:
            raise TimeoutError(f"the index reader process did not answer in {timeout_s:g}s")
        status, value, self.version = reply
        return status, value

    def stop(self, patience_s: float = 5.0) -> None:
        with contextlib.suppress(EOFError, OSError):
            self.conn.send(("close", None))
        self.process.join(timeout=patience_s)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()


class ProcessReader:
    """An ``IndexReader`` over the embedded index, its reads served by ``processes`` helpers."""

    def __init__(
        self, root: Path, *, refresh_s: float, processes: int, read_timeout_s: float = 30.0
    ) -> None:
        if processes < 1:
            raise ValueError("a ProcessReader needs at least one process")
        self._args = (root, refresh_s, read_timeout_s)
        self._idle: deque[_Helper] = deque()  # first in, first out: every helper stays fresh
        self._missing = 0  # helpers lost, started again by the next read that finds none idle
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

    def _checkout(self) -> _Helper:
        with self._ready:
            while not self._idle and not self._missing and not self._closed:
                self._ready.wait()
            if self._closed:
                raise RuntimeError("the index reader is closed")
            if self._idle:
                return self._idle.popleft()
            self._missing -= 1
        try:
            return _Helper(*self._args)
        except BaseException:
            self._checkin(None)
            raise

    def _checkin(self, helper: _Helper | None) -> None:
        with self._ready:
            closed = self._closed
            if helper is None:
                self._missing += 1
            elif not closed:
                self._idle.append(helper)
            self._ready.notify()
        if closed and helper is not None:  # closed while this read ran
            helper.stop()

    def _call(self, op: str, arg: Any = None) -> Any:
        first = self._checkout()
        helper: _Helper | None = first
        try:
            try:
                status, value = first.call(op, arg)
            except HelperLost:
                log.warning("an index reader process exited; starting another")
                first.stop()
                helper = None
                again = helper = _Helper(*self._args)
                status, value = again.call(op, arg)  # a read: safe to ask again
        except BaseException as exc:  # lost, silent, or its answer left unread: never reused
            if helper is not None:
                helper.stop(patience_s=0 if isinstance(exc, TimeoutError) else 5)
                helper = None
            raise
        finally:
            if helper is not None:
                self._version = helper.version
            self._checkin(helper)
        if status == "error":
            raise value
        return value

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
            helpers, self._idle = self._idle, deque()
            self._ready.notify_all()
        for helper in helpers:
            helper.stop()
