"""Concurrent searches share encoder calls: one worker thread encodes whatever queries wait.

While the encoder runs a batch, new queries queue; when it is free it takes all of them (up to
``max_batch``) in one call, so throughput grows with concurrency instead of each search paying
a whole encoder call. While searches come one at a time, each is encoded at once; only when the
last call was shared (searches are arriving together) does the worker wait up to ``wait_ms``
for more to join.
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
        self._worker: threading.Thread | None = None
        self.batch_sizes: deque[int] = deque(maxlen=1000)  # recent calls, for bench and debug

    def encode_one(self, text: str) -> np.ndarray:
        """``text``'s vector, encoded in a call shared with the queries waiting beside it."""
        future: Future[np.ndarray] = Future()
        with self._ready:
            if self._closed:
                raise BatcherClosed("the query encoder is shut down")
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="query-batcher", daemon=True)
                self._worker.start()
            self._pending.append((text, future))
            self._ready.notify()
        return future.result()

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=5)

    def _take(self) -> list[tuple[str, Future[np.ndarray]]] | None:
        with self._ready:
            while not self._pending and not self._closed:
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
            return [self._pending.popleft() for _ in range(count)]

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            self._last_size = len(batch)
            self.batch_sizes.append(len(batch))
            try:
                vectors = self._encode([text for text, _ in batch])
                if len(vectors) != len(batch):
                    raise RuntimeError(f"the encoder gave {len(vectors)} rows for {len(batch)}")
            except BaseException as exc:  # every waiting search gets the error, not a hang
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for row, (_, future) in zip(vectors, batch, strict=True):
                future.set_result(row)
