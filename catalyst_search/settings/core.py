"""One settings object for both packages, read from ``CATALYST_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from catalyst_search.options import (
    TENANT_PATTERN,
    AuthMethod,
    Fusion,
    FusionSite,
    IndexBackend,
    IngestMode,
    choices,
)
from catalyst_search.settings.acquisition import AcquisitionFields
from catalyst_search.settings.encoder import EncoderFields
from catalyst_search.settings.index import IndexFields
from catalyst_search.settings.outbound import OutboundFields
from catalyst_search.settings.paths import DEFAULT_COLLECTION, HomePaths
from catalyst_search.settings.profile import ProfileFields
from catalyst_search.settings.sources import RunEnvSources
from catalyst_search.settings.text import describe, without_credentials


class SettingsError(ValueError):
    """A ``CATALYST_*`` variable is missing or wrong; the message names it and the fix."""


class Settings(
    HomePaths,
    OutboundFields,
    AcquisitionFields,
    ProfileFields,
    EncoderFields,
    IndexFields,
    RunEnvSources,
    BaseSettings,
):
    """Runtime configuration. Every field is read from ``CATALYST_<FIELD NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CATALYST_", env_file=".env", extra="ignore")

    home: Path = Field(Path(".catalyst"), description="Embedded index, artifacts, SQLite stores.")
    index_backend: IndexBackend = "embedded"
    qdrant_url: str | None = Field(None, description="Qdrant server URL for the server backend.")
    qdrant_api_key: SecretStr | None = None
    qdrant_timeout_s: float = Field(10.0, gt=0)
    collection: str = Field(DEFAULT_COLLECTION, pattern=r"^[A-Za-z0-9_-]{1,64}$")

    dense_batch_size: int = Field(
        32,
        ge=1,
        le=1024,
        description="Texts per encoder call at ingest; 32 measured as fast as 64 with less "
        "than half the memory (docs/benchmarks.md).",
    )
    chunk_tokens: int = Field(
        200, ge=16, le=256, description="Word pieces per chunk (MiniLM: 256)."
    )
    chunk_overlap: int = Field(32, ge=0)
    bm25_avg_len: float | None = Field(
        None, gt=0, description="BM25 average length; unset: measured on the first ingest."
    )

    fusion: Fusion = Field(
        "dbsf",
        description="How the dense and sparse legs fuse (dbsf measured best, docs/benchmarks).",
    )
    fusion_site: FusionSite = Field(
        "client", description="client: deterministic fusion here; engine: Qdrant's own fusion."
    )
    rrf_k: int = Field(2, ge=1, description="Reciprocal rank fusion k.")
    fusion_weights: tuple[float, float] | None = Field(
        None, description='Weights of the dense and sparse legs, e.g. "[1.0, 0.8]".'
    )
    prefetch_limit: int = Field(50, ge=1, le=1000, description="Candidates per prefetch.")
    hnsw_ef: int = Field(256, ge=4, description="HNSW search breadth of the dense leg.")
    exact_search: bool = False

    rerank_tiers: str = Field(
        "cohere,openai,local", description="Premium rerank tiers to try, in order, when configured."
    )
    rerank_candidates: int = Field(30, ge=1, le=200, description="Fused hits premium reranks.")
    rerank_breaker_failures: int = Field(3, ge=1)
    rerank_breaker_reset_s: float = Field(30.0, ge=0)
    cohere_api_key: SecretStr | None = None
    cohere_base_url: str | None = Field(
        None, description="Cohere API base URL (default: Cohere's)."
    )
    cohere_model: str = "rerank-v3.5"
    cohere_timeout_s: float = Field(2.0, gt=0)
    openai_api_key: SecretStr | None = None
    openai_base_url: str = "https://api.openai.com/v1"
    openai_embedding_model: str = "text-embedding-3-small"
    openai_timeout_s: float = Field(2.0, gt=0)

    queue: str | None = Field(
        None, description="redis://host:6379/0 for Redis Streams; unset: SQLite under home."
    )
    redis_prefix: str = Field("catalyst", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    outbox_drain_s: float = Field(2.0, gt=0, description="How often the outbox is retried.")
    pushgateway_url: str | None = Field(
        None, description="Prometheus Pushgateway ingestion runs push their counters to."
    )
    ingest_mode: IngestMode = Field(
        "async",
        description="async: catalystctl ingest queues a job for the Dagster daemon; "
        "sync: it runs the ingest in-process",
    )
    dagster_ui_url: str = Field(
        "http://127.0.0.1:3000", description="Dagster UI, for links from job records to runs."
    )
    dispatch_stale_s: float = Field(
        30.0, gt=0, description="Dispatch is degraded when the sensor has not ticked this long."
    )

    default_tenant: str = Field("default", pattern=TENANT_PATTERN)

    auth: str = Field(
        "disabled",
        description="jwt, apikey, jwt,apikey or disabled (a laptop: tenant default, loopback only)",
    )
    jwt_secret: SecretStr | None = Field(None, description="HS256 shared secret.")
    jwt_jwks: str | None = Field(None, description="RS256/ES256 keys: a JWKS file path or URL.")
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwt_leeway_s: float = Field(30.0, ge=0, le=600)
    jwt_tenant_claim: str = "tenant_id"
    jwt_roles_claim: str = "roles"
    rate_search: str = Field("600/minute", description="Searches per tenant, e.g. 600/minute.")
    rate_ingest: str = Field("60/minute", description="Ingest requests per tenant.")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest request body (413).")
    search_timeout_s: float = Field(10.0, gt=0, description="A search running longer is 504.")
    search_concurrency: int = Field(
        32,
        ge=1,
        le=256,
        description="Searches in flight on a replica, at most half of them a tenant's; more are "
        "refused at once (503, Retry-After). Each holds one of as many search threads until it "
        "ends, 504 or not.",
    )

    eval_queries: Path | None = Field(
        None,
        description="JSONL of {query, relevant: [document ids], tenant_id?}: new feedback boosts "
        "go live only if nDCG@10 on these does not drop.",
    )
    feedback_tune_events: int = Field(
        100, ge=1, description="New feedback events that start a tuning run (sensor)."
    )
    boost_refresh_s: float = Field(
        5.0, ge=0, description="How often the service looks for a newly published boost version."
    )

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    access_log: bool = Field(
        False, description="One log line per request (requests are counted in /metrics anyway)."
    )
    api_url: str = Field(
        "http://127.0.0.1:8000", description="Where catalystctl finds the service."
    )

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @model_validator(mode="after")
    def _check_backend(self) -> Settings:
        if self.index_backend == "server" and not self.qdrant_url:
            raise ValueError(
                "CATALYST_INDEX_BACKEND=server needs CATALYST_QDRANT_URL "
                "(for example http://127.0.0.1:6333), or set CATALYST_INDEX_BACKEND=embedded"
            )
        methods = self.auth_methods
        if "jwt" in methods and not (self.jwt_secret or self.jwt_jwks):
            raise ValueError(
                "CATALYST_AUTH=jwt needs CATALYST_JWT_SECRET (HS256) or CATALYST_JWT_JWKS "
                "(a JWKS file or URL for RS256/ES256)"
            )
        if "jwt" in methods and self.jwt_jwks and not (self.jwt_issuer and self.jwt_audience):
            raise ValueError(
                "CATALYST_JWT_JWKS needs CATALYST_JWT_ISSUER and CATALYST_JWT_AUDIENCE: an "
                "identity provider signs tokens for other services too"
            )
        if self.profile == "production" and (problems := self.production_problems()):
            raise ValueError(
                "CATALYST_PROFILE=production keeps nothing on local disk, but these are: "
                + "; ".join(problems)
            )
        if self.encoder_precision == "int8" and self.encoder_runtime == "torch":
            raise ValueError(
                "CATALYST_ENCODER_PRECISION=int8 runs on ONNX Runtime only: set "
                "CATALYST_ENCODER_RUNTIME=onnx or CATALYST_ENCODER_PRECISION=fp32"
            )
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError(
                "CATALYST_CHUNK_OVERLAP must be smaller than CATALYST_CHUNK_TOKENS "
                f"(got {self.chunk_overlap} >= {self.chunk_tokens})"
            )
        return self

    def __repr_args__(self) -> Any:
        """As pydantic's, with the credentials of URLs (``redis://:pw@host``) left out."""
        return [(name, without_credentials(value)) for name, value in super().__repr_args__()]

    @property
    def auth_methods(self) -> frozenset[AuthMethod]:
        """The credential kinds accepted; empty when auth is disabled."""
        names = {n.strip() for n in self.auth.split(",") if n.strip()}
        allowed = set(choices(AuthMethod))
        if names == {"disabled"}:
            return frozenset()
        if not names or not names <= allowed:
            raise ValueError(
                f"CATALYST_AUTH={self.auth!r}: use jwt, apikey, jwt,apikey or disabled"
            )
        return frozenset(names)  # type: ignore[arg-type]


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation errors into one message per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(describe(exc, Settings.model_fields)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
