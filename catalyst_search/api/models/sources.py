"""Watched sources: what the API takes and answers."""

from __future__ import annotations

from pydantic import BaseModel, Field


class WatchRequest(BaseModel):
    uri: str = Field(
        min_length=1,
        max_length=2048,
        description="A folder under the source roots, s3://bucket/prefix, an http(s) page, "
        "firecrawl+https://page or crawl+https://site.",
    )


class WatchView(BaseModel):
    watch_id: str
    uri: str
    kind: str = Field(description="folder, s3, http, firecrawl or crawl")
    created_at: float


class WatchList(BaseModel):
    sources: list[WatchView]
