"""What a rerank tier is, and how a tier says why it could not answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class RerankUnavailable(Exception):
    """The tier could not rerank this time; ``reason`` is a short stable label for metrics."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Reranker(Protocol):
    """Scores ``documents`` against ``query``; returns (index, score) best first.

    ``ids`` are the documents' point ids, for tiers that can reuse what the index stores.
    """

    tier: str
    hosted: bool

    def rerank(
        self, query: str, documents: Sequence[str], *, ids: Sequence[str] = ()
    ) -> list[tuple[int, float]]: ...


def reason_for_status(status: int) -> str:
    """HTTP status -> degradation reason, the same for every hosted tier."""
    if status in (401, 403):
        return "invalid_credentials"
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server_error"
    return f"http_{status}"
