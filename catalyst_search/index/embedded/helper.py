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
import os
import pickle
import signal
import socket
import struct
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

_LENGTH = struct.Struct("!Q")
#: The largest message either side sends or accepts. Answers are a page of hits or a few dense
#: vectors, far below it; a length past it means the stream is out of step (a reply cut short
#: by a timeout), and the helper is dropped rather than a buffer of that size allocated.
MAX_MESSAGE = 256 << 20


class HelperLost(RuntimeError):
    """An index reader process exited (its pipe closed or broke) before it answered."""


class Channel:
    """One end of the pipe between the service and a helper: pickled messages, each after its
    length, on the pipe's socket. ``Connection.poll`` then ``recv`` went through a selector
    and two buffered reads in Python; a round trip here takes 40-55 us less (measured on 2
    cores, a 384-float query each way), in every search's path. A timeout applies to each
    read of the socket, so a reply that stops midway is caught too."""

    def __init__(self, conn: Connection) -> None:
        self._sock = socket.socket(fileno=os.dup(conn.fileno()))
        conn.close()

    def send(self, message: Any) -> None:
        """Pickled first: a message that does not pickle, or is larger than ``MAX_MESSAGE``,
        sends nothing. Blocks until it is sent, as ``Connection.send`` did."""
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        if len(data) > MAX_MESSAGE:
            raise ValueError(f"a message of {len(data)} bytes: more than {MAX_MESSAGE}")
        self._sock.settimeout(None)
        self._sock.sendall(_LENGTH.pack(len(data)) + data)

    def recv(self, timeout_s: float | None = None) -> Any:
        """The next message; EOFError when the other end closed, TimeoutError when nothing
        arrived for ``timeout_s``, ConnectionError when the stream is out of step."""
        self._sock.settimeout(timeout_s)
        (size,) = _LENGTH.unpack(self._read(_LENGTH.size))
        if size > MAX_MESSAGE:
            raise ConnectionError(f"a message of {size} bytes announced: the pipe is out of step")
        return pickle.loads(self._read(size))

    def _read(self, size: int) -> bytearray:
        buffer = bytearray(size)
        view, got = memoryview(buffer), 0
        while got < size:
            n = self._sock.recv_into(view[got:])
            if not n:
                raise EOFError("the other end of the pipe closed")
            got += n
        return buffer

    def close(self) -> None:
        self._sock.close()


def _serve(pipe: Connection, root: str, version: str | None, search_threads: int) -> None:
    """A helper's loop: one read at a time, until told to close or its service is gone."""
    from catalyst_search.index.embedded.reader import EmbeddedReader

    conn = Channel(pipe)
    for stop in (signal.SIGINT, signal.SIGTERM):  # the service stops us when it has finished
        signal.signal(stop, signal.SIG_IGN)  # (a closed pipe, if it could not)
    try:
        reader = EmbeddedReader(
            Path(root), refresh_s=math.inf, version=version, search_threads=search_threads
        )
    except Exception as exc:  # a damaged index: the service reports why it cannot start
        _send_error(conn, exc, None)
        return
    conn.send(("ok", None, reader.version))
    try:
        while True:
            try:
                op, arg = conn.recv()
            except (EOFError, OSError):
                return
            if op == "close":
                return
            try:
                answer = _answer(reader, op, arg)
                conn.send(("ok", answer, reader.version))  # pickled, then sent: all or nothing
            except Exception as exc:  # the caller raises it (IndexNotReady, a bad filter, ...)
                _send_error(conn, exc, reader.version)
    finally:
        reader.close()
        conn.close()


def _send_error(conn: Channel, exc: Exception, version: str | None) -> None:
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
        self,
        root: Path,
        timeout_s: float,
        version: str | None = None,
        generation: int = 0,
        *,
        search_threads: int = 1,
    ) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        ours, theirs = context.Pipe()
        self.process = context.Process(
            target=_serve,
            args=(theirs, str(root), version, search_threads),
            name="index-reader",
            daemon=True,
        )
        self.process.start()
        theirs.close()
        self.conn = Channel(ours)
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
            reply = self.conn.recv(timeout_s)
        except TimeoutError:
            raise TimeoutError(
                f"the index reader process did not answer in {timeout_s:g}s"
            ) from None
        except (EOFError, OSError) as exc:
            raise HelperLost("the index reader process exited") from exc
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
