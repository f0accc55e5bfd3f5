"""Request and response bodies of ``POST /search``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from catalyst_search.options import Mode, Retrieval, Track

MAX_TOP_K = 100


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(..., min_length=1, max_length=4096, description="What to look for.")
    top_k: int = Field(10, ge=1, le=MAX_TOP_K, description="How many results (1-100).")
    filters: dict[str, Any] = Field(
        default_factory=dict,
        description="Payload filters: icd_codes, chapter, source, document_id or any metadata "
        "key; a list means any of its values.",
    )
    mode: Mode = Field(
        "economy", description="economy: fused hybrid; premium: fused hybrid, then a reranker."
    )
    track: Track = Field(
        "text", description="text chunks, vision (text read from images), or both."
    )
    retrieval: Retrieval = "hybrid"
    debug: bool = Field(False, description="Explain the ranking: ranks, scores, stages, query.")

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query must contain some text")
        return value


class SearchResult(BaseModel):
    document_id: str
    chunk_id: str
    score: float
    text: str
    metadata: dict[str, Any]


class SearchResponse(BaseModel):
    query_id: str = Field(description="Name this search in POST /feedback.")
    results: list[SearchResult]
    index_version: str | None
    mode: Mode
    track: Track
    rerank_tier: str = Field(description="cohere, openai, local or fused: what ordered results.")
    degraded: bool
    degradation_reason: str | None
    timings_ms: dict[str, float]
    debug: dict[str, Any] | None = None
    boost_version: str | None = Field(
        None, description="The feedback boosts that reordered the results, if any were live."
    )
