"""The feedback store: the search log, the feedback log, counters for analytics, and the boost
versions of each tenant. SQLite under ``CATALYST_HOME`` by default, Redis beside the queue when
``CATALYST_QUEUE`` names one (``factory.open_feedback``).

The feedback log is drained by the code location a day at a time: ``pending(start, end)``
gives what has not been acknowledged, ``ack`` forgets it once it is safely in Parquet. A
repeated feedback (same query, target and kind) is kept once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from catalyst_search.feedback.records import FeedbackEvent, SearchRecord

#: counters kept per tenant and hour: what analytics adds up
COUNTERS = ("searches", "zero_results", "feedback", "positive", "negative", "clicks")
#: how long a search stays known to feedback (its query id), and counters are kept
SEARCH_TTL_S = 30 * 86400
COUNTER_TTL_S = 400 * 86400


def hour_of(at: float) -> int:
    return int(at // 3600) * 3600


def day_of(at: float) -> int:
    return int(at // 86400) * 86400


@dataclass(frozen=True)
class BoostVersion:
    version: str
    created_at: float
    live: bool
    stats: dict[str, Any]


class FeedbackStore(Protocol):
    def log_searches(self, records: list[SearchRecord]) -> None: ...

    def search(self, tenant_id: str, query_id: str) -> SearchRecord | None:
        """A logged search of this tenant (another tenant's is None, like an unknown one)."""
        ...

    def add_feedback(self, event: FeedbackEvent) -> bool:
        """Keep ``event``; False when the same feedback was kept before (nothing counted)."""
        ...

    def pending(self, start: float, end: float, *, limit: int) -> list[FeedbackEvent]:
        """Feedback received in [start, end) and not yet acknowledged, oldest first."""
        ...

    def ack(self, event_ids: list[str]) -> None: ...

    def oldest_pending(self) -> float | None:
        """When the oldest unacknowledged feedback arrived (None: nothing pending)."""
        ...

    def pending_count(self) -> int: ...

    def counters(self, tenant_id: str, start: float, end: float) -> dict[int, dict[str, int]]:
        """Per hour (its start) in [start, end): the COUNTERS that are not zero."""
        ...

    def queries(
        self, tenant_id: str, start: float, end: float, *, top: int
    ) -> dict[str, tuple[int, int]]:
        """(searches, negatives) over the days touching [start, end) of the ``top`` normalized
        queries searched most and the ``top`` with the most negatives (ties: by the query)."""
        ...

    def put_boosts(
        self, tenant_id: str, version: str, boosts: dict[str, Any], stats: dict[str, Any]
    ) -> None: ...

    def activate(self, tenant_id: str, version: str) -> bool:
        """Make ``version`` the tenant's live boosts; False when there is no such version."""
        ...

    def live_boosts(self, tenant_id: str) -> tuple[str, dict[str, Any]] | None: ...

    def get_boosts(self, tenant_id: str, version: str) -> dict[str, Any] | None: ...

    def live_version(self, tenant_id: str) -> str | None: ...

    def live_tenants(self) -> list[str]:
        """The tenants that have a live version (tuning retires those left without evidence)."""
        ...

    def boost_versions(self, tenant_id: str) -> list[BoostVersion]:
        """Newest first."""
        ...

    def close(self) -> None: ...
