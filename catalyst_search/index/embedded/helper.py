"""One index reader process: an ``EmbeddedReader`` answering reads over a pipe (``_serve``),
and the service's handle on it (``Helper``). ``process_reader.py`` keeps a pool of them.

A helper serves the version it was started for and never swaps: a newer version is served by
new helpers the pool starts beside the old ones. One started before the first publish loads
the first version in place.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import signal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any


class HelperLost(RuntimeError):
    """An index reader process exited (its pipe closed or broke) before it answered."""


def _serve(conn: Connection, root: str, version: str | None) -> None:
    """A helper's loop: one read at a time, until told to close or its service is gone."""
    from catalyst_search.index.embedded.reader import EmbeddedReader

    for stop in (signal.SIGINT, signal.SIGTERM):  # the service stops us when it has finished
        signal.signal(stop, signal.SIG_IGN)  # (a closed pipe, if it could not)
    try:
        reader = EmbeddedReader(Path(root), refresh_s=math.inf, version=version)
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


class Helper:
    def __init__(
        self, root: Path, timeout_s: float, version: str | None = None, generation: int = 0
    ) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        self.conn, theirs = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(theirs, str(root), version), name="index-reader", daemon=True
        )
        self.process.start()
        theirs.close()
        self.timeout_s = timeout_s
        self.generation = generation  # the pool's generation it was started for
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
