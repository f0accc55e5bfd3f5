"""Searches in flight on a replica, bounded: past the bound a search is refused at once (503
with ``Retry-After``) instead of queueing for a worker thread.

A search runs in one of the slots' own threads (``threads``, as many as slots: a search that
took a slot finds a thread) and holds its slot until that thread has finished, also when its
caller was answered 504 meanwhile: the slots count the work the replica is really doing. So a
stuck index or a flood of slow searches fills the slots, not AnyIO's thread pool, which every
other route shares, and the callers past the bound are told to come back rather than wait
behind work that is already late. One tenant may hold at most half the slots (one, with a
single slot), so a tenant's flood of slow searches leaves the others room.

Their own pool rather than AnyIO's: ``loop.run_in_executor`` hands a search to a thread and
back with less Python than ``anyio.to_thread`` (its limiter and cancel scope) under
``asyncio.wait_for`` (a task of its own): 64-126 against 118-218 us a round trip on 2 cores.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor


class SearchSlots:
    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("search slots: at least one")
        self.size = size
        self.per_tenant = max(1, size // 2)
        self._lock = threading.Lock()
        self._held: Counter[str] = Counter()  # slots held, by tenant
        self.threads = ThreadPoolExecutor(size, thread_name_prefix="search")

    def close(self) -> None:
        """Searches not started are dropped; the running ones end on their own."""
        self.threads.shutdown(wait=False, cancel_futures=True)

    def take(self, tenant_id: str) -> Slot | None:
        """A free slot, or None when ``size`` searches are in flight, or ``per_tenant`` of
        ``tenant_id``'s."""
        with self._lock:
            if self._held.total() >= self.size or self._held[tenant_id] >= self.per_tenant:
                return None
            self._held[tenant_id] += 1
        return Slot(self, tenant_id)

    def _give_back(self, tenant_id: str) -> None:
        with self._lock:
            self._held[tenant_id] -= 1
            if not self._held[tenant_id]:
                del self._held[tenant_id]


class Slot:
    """One search's slot: given back when its thread has run (``start`` then ``finish``), or
    by ``abandon`` when the thread never started (the caller gave up first)."""

    def __init__(self, slots: SearchSlots, tenant_id: str) -> None:
        self._slots, self._tenant_id = slots, tenant_id
        self._lock = threading.Lock()
        self._state = "taken"  # -> running -> done, or taken -> done

    def start(self) -> bool:
        """In the worker thread, first: False when the caller has abandoned the search."""
        with self._lock:
            if self._state != "taken":
                return False
            self._state = "running"
            return True

    def finish(self) -> None:
        """In the worker thread, last."""
        with self._lock:
            if self._state == "running":
                self._state = "done"
                self._slots._give_back(self._tenant_id)

    def abandon(self) -> None:
        """The caller is done with the search: frees the slot unless its thread is running
        (that thread frees it when it ends)."""
        with self._lock:
            if self._state == "taken":
                self._state = "done"
                self._slots._give_back(self._tenant_id)
