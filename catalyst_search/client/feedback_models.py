"""Typed answers of the feedback routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FeedbackRecorded:
    """``recorded`` is false for a repeat (the same feedback counts once)."""

    event_id: str
    recorded: bool
    rank: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeedbackRecorded:
        return cls(str(data["event_id"]), bool(data["recorded"]), int(data["rank"]))


@dataclass(frozen=True)
class AnalyticsBucket:
    start: str  # ISO time, UTC
    searches: int
    zero_results: int
    feedback: int
    positive: int
    negative: int
    clicks: int
    positive_rate: float | None  # None: no feedback in the bucket
    click_through_rate: float | None
    zero_result_rate: float | None


@dataclass(frozen=True)
class FeedbackAnalytics:
    bucket: str
    buckets: list[AnalyticsBucket]
    top_queries: list[dict[str, Any]]
    worst_queries: list[dict[str, Any]]
    most_boosted: list[dict[str, Any]]
    most_demoted: list[dict[str, Any]]
    boost_version: str | None
    view: dict[str, Any]  # the whole answer

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeedbackAnalytics:
        return cls(
            bucket=data["bucket"],
            buckets=[AnalyticsBucket(**b) for b in data["buckets"]],
            top_queries=list(data["top_queries"]),
            worst_queries=list(data["worst_queries"]),
            most_boosted=list(data["most_boosted"]),
            most_demoted=list(data["most_demoted"]),
            boost_version=data.get("boost_version"),
            view=data,
        )
