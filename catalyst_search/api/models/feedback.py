"""Request and response bodies of the feedback routes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query_id: str = Field(..., pattern=r"^[0-9a-f]{32}$", description="From the search's answer.")
    chunk_id: str | None = Field(None, max_length=128, description="The result it is about.")
    document_id: str | None = Field(None, max_length=4096, description="Or its document.")
    rating: Literal[1, -1] = Field(..., description="1: it helped; -1: it did not.")
    event: Literal["vote", "click"] = "vote"
    comment: str = Field("", max_length=1000)

    @model_validator(mode="after")
    def _target(self) -> FeedbackRequest:
        if not (self.chunk_id or self.document_id):
            raise ValueError("name the result: chunk_id or document_id")
        if self.event == "click" and self.rating != 1:
            raise ValueError("a click is positive: rating 1")
        return self


class FeedbackAccepted(BaseModel):
    event_id: str
    recorded: bool = Field(description="false: the same feedback was recorded before")
    rank: int = Field(description="Where the result ranked in that search (1 = first).")


class BoostVersionView(BaseModel):
    version: str
    created_at: float
    live: bool
    stats: dict[str, Any]


class AnalyticsBucket(BaseModel):
    start: str
    searches: int
    zero_results: int
    feedback: int
    positive: int
    negative: int
    clicks: int
    positive_rate: float | None
    click_through_rate: float | None = Field(
        description="clicks per search: each result clicked counts, so it can pass 1"
    )
    zero_result_rate: float | None


class QueryStat(BaseModel):
    query: str
    searches: int
    negative: int


class MovedDocument(BaseModel):
    document_id: str
    multiplier: float
    evidence: int


class Analytics(BaseModel):
    tenant_id: str
    bucket: Literal["hour", "day", "week"]
    buckets: list[AnalyticsBucket]
    top_queries: list[QueryStat]
    worst_queries: list[QueryStat]
    most_boosted: list[MovedDocument]
    most_demoted: list[MovedDocument]
    boost_version: str | None
