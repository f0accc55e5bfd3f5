"""Remote fetches, classified (decision 6): transient failures are tried again, permanent ones
are recorded once.

Transient: timeouts, connection resets, 429 (its ``Retry-After`` honoured) and 5xx, and a body
that is not what the API documents (a proxy's error page). Each document gets at most
``CATALYST_FETCH_ATTEMPTS`` tries with exponential backoff and jitter (the SDK's
``RetryPolicy``), and a run spends at most ``CATALYST_FETCH_RUN_RETRIES`` retries in all.
Permanent: 400/401/403/404/410 and other 4xx, robots.txt disallow, oversize and unsupported
content; never tried again. Our own loop rather than urllib3's ``Retry``: one classification
and one per-run budget for plain HTTP and Firecrawl, and every retry counted for the metrics.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pydantic
import requests

from catalyst_orchestration.lib.failures import PermanentDocumentError
from catalyst_search.client.retries import RetryPolicy

T = TypeVar("T")
GONE = {404, 410}


class TransientFetchError(Exception):
    """Worth another try: ``reason`` names it (``HTTP 429``, ``timeout``...)."""

    def __init__(self, reason: str, message: str, *, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after


class PermanentFetchError(PermanentDocumentError):
    """Will fail the same way again; ``status`` when an HTTP answer said so."""

    def __init__(self, error: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message, error=error)
        self.status = status

    @property
    def gone(self) -> bool:
        """The source says the document no longer exists (404, 410)."""
        return self.status in GONE


def raise_for_status(status: int, url: str, headers: Any = None) -> None:
    """Classify an HTTP status: 2xx passes, 429/5xx/408 transient, other 4xx permanent."""
    if status < 400:
        return
    if status == 429 or status >= 500 or status == 408:
        retry_after = headers.get("Retry-After") if headers is not None else None
        raise TransientFetchError(
            f"HTTP {status}", f"{url} answered {status}", retry_after=retry_after
        )
    raise PermanentFetchError(f"HTTP{status}", f"{url} answered {status}", status=status)


def transient_reason(exc: BaseException) -> TransientFetchError | None:
    """``exc`` as a transient failure, or None when it is permanent."""
    if isinstance(exc, TransientFetchError):
        return exc
    if isinstance(exc, httpx.TimeoutException | requests.Timeout | TimeoutError):
        return TransientFetchError("timeout", f"timed out: {exc}")
    if isinstance(exc, json.JSONDecodeError | pydantic.ValidationError):
        return TransientFetchError("malformed", f"a malformed answer: {str(exc)[:200]}")
    if isinstance(exc, httpx.TransportError | requests.ConnectionError | ConnectionError):
        return TransientFetchError("connection", f"connection failed: {exc}")
    status = getattr(exc, "status_code", None)  # the Firecrawl SDK's errors carry the status
    if isinstance(status, int) and (status == 429 or status >= 500 or status == 408):
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
        retry_after = headers.get("Retry-After") if headers is not None else None
        return TransientFetchError(f"HTTP {status}", str(exc)[:300], retry_after=retry_after)
    return None


@dataclass
class FetchStats:
    """What a run's fetches did, for run metadata and the Pushgateway."""

    kind: str
    fetches: int = 0
    bytes: int = 0
    retries: Counter[str] = field(default_factory=Counter)  # by reason
    failures: Counter[str] = field(default_factory=Counter)  # by class

    def as_metadata(self) -> dict[str, Any]:
        return {
            "fetches": self.fetches,
            "fetched_bytes": self.bytes,
            "retries": dict(self.retries),
            "fetch_failures": dict(self.failures),
        }


@dataclass
class Retried:
    """A document that needed more than one try, and what the failed tries were."""

    location: str
    attempts: int
    reasons: list[str]
    outcome: str  # fetched | failed

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "class": "transient"}


class Retrier:
    """Runs one document's fetch with the per-document tries and the run's retry budget."""

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        run_budget: int,
        stats: FetchStats,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.policy = policy
        self.budget = run_budget
        self.stats = stats
        self.retried: list[Retried] = []
        self.sleep = sleep

    def call(self, location: str, fetch: Callable[[], T]) -> T:
        """``fetch()``'s result; raises its last error when tries or budget run out (a
        ``TransientFetchError`` for transient ones, which the caller records as transient)."""
        reasons: list[str] = []
        attempt = 0
        while True:
            self.stats.fetches += 1
            try:
                result = fetch()
            except Exception as exc:
                transient = transient_reason(exc)
                if transient is None:
                    self._note(location, attempt, reasons, "failed")
                    raise
                reasons.append(transient.reason)
                wait = self.policy.wait_s(attempt, transient.retry_after)
                if wait is None or self.budget <= 0:
                    self._note(location, attempt, reasons, "failed")
                    raise transient from exc
                self.budget -= 1
                self.stats.retries[transient.reason] += 1
                attempt += 1
                self.sleep(wait)
                continue
            self._note(location, attempt, reasons, "fetched")
            return result

    def _note(self, location: str, attempt: int, reasons: list[str], outcome: str) -> None:
        if attempt:
            self.retried.append(Retried(location, attempt + 1, reasons[: attempt + 1], outcome))
