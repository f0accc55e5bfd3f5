"""Concurrent searches share encoder calls: one worker thread encodes whatever queries wait.

A query that finds the encoder idle and nobody waiting is encoded at once in its caller's
thread: a search alone pays no hand-over to the worker and back. While the encoder runs (for
a caller or the worker), new queries queue; when it is free the worker takes all of them (up
to ``max_batch``) in one call, so throughput grows with concurrency instead of each search
paying a whole encoder call. Only when the last call was shared (searches are arriving
together) does the worker wait up to ``wait_ms`` for more to join.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future

import numpy as np


class BatcherClosed(RuntimeError):
    """The batcher was closed (service shutdown) before the query was encoded."""


class QueryBatcher:
    def __init__(
        self,
        encode: Callable[[Sequence[str]], np.ndarray],
        *,
        max_batch: int = 16,
        wait_ms: float = 1.0,
    ) -> None:
        self._encode = encode
        self.max_batch = max_batch
        self.wait_s = wait_ms / 1000
        self._pending: deque[tuple[str, Future[np.ndarray]]] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._last_size = 0
        self._busy = False  # the encoder is running, for a caller or for the worker
        self._worker: threading.Thread | None = None
        self.batch_sizes: deque[int] = deque(maxlen=1000)  # recent calls, for bench and debug

    def encode_one(self, text: str) -> np.ndarray:
        """``text``'s vector, encoded in a call shared with the queries waiting beside it."""
        future: Future[np.ndarray] = Future()
        with self._ready:
            if self._closed:
                raise BatcherClosed("the query encoder is shut down")
            alone = not self._busy and not self._pending
            if alone:
                self._busy = True
            else:
                if self._worker is None:
                    self._worker = threading.Thread(
                        target=self._run, name="query-batcher", daemon=True
                    )
                    self._worker.start()
                self._pending.append((text, future))
                self._ready.notify()
        return self._encode_alone(text) if alone else future.result()

    def _encode_rows(self, texts: list[str]) -> np.ndarray:
        self.batch_sizes.append(len(texts))
        vectors = self._encode(texts)
        if len(vectors) != len(texts):
            raise RuntimeError(f"the encoder gave {len(vectors)} rows for {len(texts)}")
        return vectors

    def _encode_alone(self, text: str) -> np.ndarray:
        try:
            return self._encode_rows([text])[0]
        finally:
            with self._ready:
                self._busy = False
                self._last_size = 1
                self._ready.notify_all()  # the worker may take what queued meanwhile

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=5)

    def _take(self) -> list[tuple[str, Future[np.ndarray]]] | None:
        with self._ready:
            while (not self._pending or self._busy) and not self._closed:
                self._ready.wait()
            if self._closed:
                for _, future in self._pending:
                    future.set_exception(BatcherClosed("the query encoder is shut down"))
                self._pending.clear()
                return None
            if self.wait_s and self._last_size > 1:  # under load: let the batch fill a little
                deadline = time.monotonic() + self.wait_s
                while len(self._pending) < self.max_batch and not self._closed:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._ready.wait(left)
            count = min(self.max_batch, len(self._pending))
            self._busy = True
            return [self._pending.popleft() for _ in range(count)]

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            self._last_size = len(batch)
            try:
                vectors = self._encode_rows([text for text, _ in batch])
            except BaseException as exc:  # every waiting search gets the error, not a hang
                for _, future in batch:
                    future.set_exception(exc)
                continue
            finally:
                with self._ready:
                    self._busy = False
            for row, (_, future) in zip(vectors, batch, strict=True):
                future.set_result(row)
