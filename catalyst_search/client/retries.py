"""When the SDK tries a request again, and how long it waits first.

Retried: 429 (the request was refused before any work, so always safe; ``Retry-After`` is
honoured), connection failures before the request was sent, and, for requests that are safe to
repeat (searches, reads), 502, 503, 504 and timeouts. Never a 4xx but 429: the same request
would fail the same way. An ingest is not repeated after it may have reached the service (a
timeout, a 502 from a proxy), because repeating it could queue the job twice. A delete tried
again after a try that may have acted (a timeout, a broken connection, 500, 502 or 504) takes
a 404 as that try's success. ``Attempts`` counts the tries of one call.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Protocol

import httpx

from catalyst_search.client.errors import Unreachable, error_of, shown_url

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


class Retried(Protocol):
    """What ``Attempts`` needs of a call (``calls.Call``): whether it is safe to repeat."""

    @property
    def idempotent(self) -> bool: ...


class Attempts:
    """The tries of one call: after a failed one, how long to wait, or the error to raise."""

    def __init__(self, call: Retried, policy: RetryPolicy, *, base_url: str, timeout_s: float):
        self.call, self.policy = call, policy
        self.base_url, self.timeout_s = shown_url(base_url), timeout_s  # for messages
        self.made = 0
        self.may_have_landed = False  # an earlier try may have reached the service

    def wait_after(self, outcome: httpx.Response | httpx.TransportError) -> float:
        """Seconds to wait before the next try; raises the error when there is none."""
        retry_after = None
        if isinstance(outcome, httpx.Response):
            error = error_of(outcome)
            retryable = self.policy.retries_status(
                outcome.status_code, idempotent=self.call.idempotent
            )
            retry_after = outcome.headers.get("retry-after")
        elif isinstance(outcome, httpx.ConnectError | httpx.ConnectTimeout):  # never sent
            error, retryable = Unreachable(0, f"cannot reach {self.base_url}: is it up?"), True
        elif isinstance(outcome, httpx.TimeoutException):
            error = Unreachable(0, f"{self.base_url} did not answer in {self.timeout_s:g}s")
            retryable = self.call.idempotent
        else:
            error = Unreachable(0, f"the connection to {self.base_url} failed: {outcome}")
            retryable = self.call.idempotent
        wait = self.policy.wait_s(self.made, retry_after) if retryable else None
        self.made += 1
        self.may_have_landed = self.may_have_landed or _may_have_acted(outcome)
        if wait is None:
            raise error from outcome if isinstance(outcome, Exception) else None
        return wait


#: Answers after which the service may have done the work: an error past the handler, a
#: gateway's (the request went on). A 429 or a 503 is refused before any work.
_ACTED = frozenset({500, 502, 504})


def _may_have_acted(outcome: httpx.Response | httpx.TransportError) -> bool:
    if isinstance(outcome, httpx.Response):
        return outcome.status_code in _ACTED
    return not isinstance(outcome, httpx.ConnectError | httpx.ConnectTimeout)  # sent
