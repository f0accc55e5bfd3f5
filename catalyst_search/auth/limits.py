"""Per-tenant rate limits through the ``limits`` library: a moving window in Redis when
``CATALYST_QUEUE`` names one (shared by every replica), in process memory otherwise."""

from __future__ import annotations

import logging
import math
import time
from typing import Literal

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage, Storage
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
        self.storage = storage or MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)

    @property
    def shared(self) -> bool:
        """Kept in Redis: a check is a network round trip."""
        return not isinstance(self.storage, MemoryStorage)

    def retry_after(self, tenant_id: str, action: Action) -> float | None:
        rate = self.rates[action]
        try:
            if self.limiter.hit(rate, tenant_id, action):
                return None
            reset_at, _ = self.limiter.get_window_stats(rate, tenant_id, action)
        except QUEUE_ERRORS as exc:  # limits are protection, not a dependency: let it through
            log.warning("rate limit store unreachable (%s); not limiting", type(exc).__name__)
            return None
        return max(1.0, math.ceil(reset_at - time.time()))
