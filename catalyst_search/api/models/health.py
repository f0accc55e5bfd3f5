"""Response bodies of the health routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from catalyst_search.settings.encoder import EncoderPrecision, EncoderRuntime


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    ready: bool
    index_version: str | None
    detail: str
    ingestion_dispatch: Literal["ok", "degraded"] = "ok"
    ingestion_detail: str | None = None


class RerankTier(BaseModel):
    tier: str
    hosted: bool
    state: str
    detail: str | None = None


class EncoderInfo(BaseModel):
    """The dense encoder the service embeds queries with: the one the index recorded, or the
    configured one while the index records none (nothing ingested yet)."""

    model: str
    precision: EncoderPrecision
    runtime: EncoderRuntime


class IndexInfo(BaseModel):
    backend: str
    collection: str
    index_version: str | None
    tenant_id: str
    chunks: int | None = None
    fusion: str
    encoder: EncoderInfo
    rerank_tiers: list[RerankTier]
