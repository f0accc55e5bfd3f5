"""When the SDK tries a request again, and how long it waits first.

Retried: 429 (the request was refused before any work, so always safe; ``Retry-After`` is
honoured), connection failures before the request was sent, and, for requests that are safe to
repeat (searches, reads), 502, 503, 504 and timeouts. Never a 4xx but 429: the same request
would fail the same way. An ingest is not repeated after it may have reached the service (a
timeout, a 502 from a proxy), because repeating it could queue the job twice.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

RETRY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` in all (1: never retry); exponential backoff from ``backoff_s`` with equal
    jitter, each wait at most ``max_wait_s`` (a longer ``Retry-After`` gives up instead)."""

    attempts: int = 4
    backoff_s: float = 0.25
    max_wait_s: float = 10.0

    def retries_status(self, status: int, *, idempotent: bool) -> bool:
        return status == 429 or (idempotent and status in RETRY_STATUSES)

    def wait_s(self, attempt: int, retry_after: str | None = None) -> float | None:
        """Seconds to wait before try ``attempt + 1`` (``attempt`` counts from 0), or None when
        no try is left or the server asks for a longer wait than ``max_wait_s``."""
        if attempt + 1 >= self.attempts:
            return None
        asked = parse_retry_after(retry_after)
        if asked is not None:
            return asked if asked <= self.max_wait_s else None
        ceiling = min(self.max_wait_s, self.backoff_s * 2**attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
