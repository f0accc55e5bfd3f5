"""The search log, written off the request path: a search hands its record to a bounded
in-memory buffer and returns; a background thread writes the buffer in batches. Feedback on a
search whose record is not written yet still finds it (``find`` looks in the buffer first).
When the buffer is full or the store is down, records are dropped and counted, never waited on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from itertools import islice

from catalyst_search.feedback.records import SearchRecord
from catalyst_search.feedback.store import FeedbackStore
from catalyst_search.metrics import SearchMetrics

log = logging.getLogger("catalyst_search.feedback")
MAX_BUFFERED = 10_000
BATCH = 500


class SearchLog:
    def __init__(
        self, store: FeedbackStore, metrics: SearchMetrics, *, interval_s: float = 0.25
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.interval_s = interval_s
        self._buffer: OrderedDict[str, SearchRecord] = OrderedDict()
        self._lock = threading.Lock()
        self._flushing = threading.Lock()  # one writer: a record is counted once
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="search-log", daemon=True)

    def start(self) -> SearchLog:
        self._thread.start()
        return self

    def record(self, record: SearchRecord) -> None:
        with self._lock:
            if len(self._buffer) >= MAX_BUFFERED:
                self.metrics.search_log_dropped.inc()
                return
            self._buffer[record.query_id] = record

    def find(self, tenant_id: str, query_id: str) -> SearchRecord | None:
        with self._lock:
            buffered = self._buffer.get(query_id)
        if buffered is not None:
            return buffered if buffered.tenant_id == tenant_id else None
        return self.store.search(tenant_id, query_id)

    def flush(self) -> int:
        """Write what is buffered now; returns how many records were written."""
        with self._flushing:
            with self._lock:
                batch = list(islice(self._buffer.values(), BATCH))
            if not batch:
                return 0
            try:
                self.store.log_searches(batch)
            except Exception:  # the store is down: drop rather than grow without bound
                log.exception("could not write %d search records", len(batch))
                self.metrics.search_log_dropped.inc(len(batch))
            with self._lock:
                for record in batch:
                    self._buffer.pop(record.query_id, None)
            return len(batch)

    def flush_now(self) -> None:
        """Write everything buffered now (a reader asks for counts), not at the next tick."""
        for _ in range(MAX_BUFFERED // BATCH + 1):
            if self.flush() < BATCH:
                return

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            while self.flush() == BATCH:
                pass

    def stop(self, *, deadline_s: float = 10.0) -> None:
        """Stop the writer and write what is left, for up to ``deadline_s``; what is still
        buffered then is counted as dropped."""
        self._stop.set()
        self._thread.join(timeout=deadline_s)
        until = time.monotonic() + deadline_s
        while not self._thread.is_alive() and time.monotonic() < until and self.flush():
            pass
        with self._lock:
            left, self._buffer = len(self._buffer), OrderedDict()
        if left:
            self.metrics.search_log_dropped.inc(left)
