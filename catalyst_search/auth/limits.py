"""Per-tenant rate limits: a moving window in Redis through the ``limits`` library when
``CATALYST_QUEUE`` names one (shared by every replica), in process memory otherwise.

The in-process window is ours rather than ``limits``' ``MemoryStorage``: that storage starts a
``threading.Timer`` thread for expiry whenever the last one has finished (every 10 ms of
traffic), and the request that starts it waits for the new thread to run; profiled on 2 cores
at concurrency 1, most of the route's own time on the event loop went there. A deque of hit
times per tenant and action gives the same exact moving window with no thread.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from typing import Literal

from limits import RateLimitItem, parse
from limits.storage import RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from catalyst_search.ingest_requests.dispatch import QUEUE_ERRORS
from catalyst_search.ingest_requests.stores import REDIS_TIMEOUT_S
from catalyst_search.settings import Settings, SettingsError

log = logging.getLogger("catalyst_search.auth")
Action = Literal["search", "ingest"]


def _rate(name: str, value: str) -> RateLimitItem:
    try:
        return parse(value)
    except ValueError:
        raise SettingsError(
            f"CATALYST_{name.upper()}={value!r}: expected N/second, N/minute or N/hour"
        ) from None


class MovingWindow:
    """An exact moving window in this process: at most ``rate.amount`` hits in any period."""

    SWEEP_EVERY = 4096  # hits between drops of the keys idle for a whole period

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str], tuple[float, deque[float]]] = {}
        self._lock = threading.Lock()
        self._since_sweep = 0

    def retry_after(self, rate: RateLimitItem, tenant_id: str, action: str) -> float | None:
        """``None`` after counting a hit within the limit; else seconds until one is free."""
        period = float(rate.get_expiry())
        now = time.monotonic()
        with self._lock:
            self._sweep(now)
            _, hits = self._hits.setdefault((tenant_id, action), (period, deque()))
            while hits and hits[0] <= now - period:
                hits.popleft()
            if len(hits) < rate.amount:
                hits.append(now)
                return None
            return hits[0] + period - now

    def _sweep(self, now: float) -> None:
        self._since_sweep += 1
        if self._since_sweep < self.SWEEP_EVERY:
            return
        self._since_sweep = 0
        idle = [
            k for k, (period, hits) in self._hits.items() if not hits or hits[-1] <= now - period
        ]
        for key in idle:
            del self._hits[key]


class TenantLimiter:
    """``retry_after(tenant, action)``: ``None`` while within the limit, else seconds to wait."""

    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        self.rates: dict[Action, RateLimitItem] = {
            "search": _rate("rate_search", settings.rate_search),
            "ingest": _rate("rate_ingest", settings.rate_ingest),
        }
        if storage is None and settings.queue:
            storage = RedisStorage(
                settings.queue,
                key_prefix=f"{settings.redis_prefix}:limits",
                socket_timeout=REDIS_TIMEOUT_S,
                socket_connect_timeout=REDIS_TIMEOUT_S,
            )
        self.limiter = MovingWindowRateLimiter(storage) if storage is not None else None
        self.local = MovingWindow()

    @property
    def shared(self) -> bool:
        """Kept in Redis: a check is a network round trip."""
        return self.limiter is not None

    def retry_after(self, tenant_id: str, action: Action) -> float | None:
        rate = self.rates[action]
        if self.limiter is None:
            wait = self.local.retry_after(rate, tenant_id, action)
            return None if wait is None else max(1.0, math.ceil(wait))
        try:
            if self.limiter.hit(rate, tenant_id, action):
                return None
            reset_at, _ = self.limiter.get_window_stats(rate, tenant_id, action)
        except QUEUE_ERRORS as exc:  # limits are protection, not a dependency: let it through
            log.warning("rate limit store unreachable (%s); not limiting", type(exc).__name__)
            return None
        return max(1.0, math.ceil(reset_at - time.time()))
