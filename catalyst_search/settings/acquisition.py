"""Settings of remote acquisition: S3 and web sources, Firecrawl, the artifact store, and the
limits and retries of every fetch (``CATALYST_FETCH_*``).

S3 credentials and endpoints are the standard AWS variables (``AWS_ACCESS_KEY_ID``,
``AWS_REGION``, ``AWS_ENDPOINT_URL`` for MinIO or moto...), read by boto3 itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

from catalyst_search.ingest_requests.remote import SourceRules, parse_s3_uri
from catalyst_search.settings.paths import SAMPLE_CORPUS

if TYPE_CHECKING:
    from catalyst_search.outbound import OutboundPolicy


class AcquisitionFields(BaseSettings):
    """``CATALYST_SOURCE_ROOTS``, the artifact store, Firecrawl and ``CATALYST_FETCH_*``."""

    if TYPE_CHECKING:

        @property
        def inbox_dir(self) -> Path: ...

        @property
        def outbound_policy(self) -> OutboundPolicy: ...

    source_roots: str | None = Field(
        None,
        description="Comma-separated folders (and s3://bucket/prefix entries) ingest sources must "
        "lie under; {tenant} stands for the caller's tenant (default: the sample corpus, "
        "CATALYST_HOME/inbox/{tenant})",
    )
    artifact_store: str | None = Field(
        None,
        description="s3://bucket/prefix: raw documents and extracted text on S3; unset: "
        "CATALYST_HOME/artifacts.",
    )
    firecrawl_url: str | None = Field(
        None, description="Firecrawl API base URL (https://api.firecrawl.dev or self-hosted)."
    )
    firecrawl_api_key: SecretStr | None = Field(None, description="Firecrawl API key.")
    fetch_user_agent: str = Field(
        "CatalystIndex/0.1 (+https://github.com/catalystindex)",
        max_length=200,
        description="User-Agent of every page fetch; robots.txt rules are read for it.",
    )
    fetch_timeout_s: float = Field(20.0, gt=0, le=300, description="One fetch's timeout.")
    fetch_max_bytes: int = Field(
        25_000_000, ge=1024, description="Largest document fetched (S3 object or page)."
    )
    fetch_attempts: int = Field(
        4, ge=1, le=10, description="Tries per document for transient failures (429, 5xx...)."
    )
    fetch_backoff_s: float = Field(
        0.5, ge=0, le=60, description="Wait before the 2nd try; doubles, with jitter."
    )
    fetch_max_wait_s: float = Field(
        60.0,
        ge=0,
        le=3600,
        description="Longest wait for one retry (a longer Retry-After gives up).",
    )
    fetch_run_retries: int = Field(
        200, ge=0, description="Retries one run may spend over all its documents."
    )
    crawl_limit: int = Field(100, ge=1, le=10_000, description="Most pages of one site crawl.")
    crawl_timeout_s: float = Field(
        900.0, gt=0, description="Longest wait for a Firecrawl crawl job."
    )
    watch_runs_per_tick: int = Field(
        10, ge=1, le=100, description="Most sync runs one sensor tick requests."
    )

    @field_validator("source_roots")
    @classmethod
    def _s3_roots(cls, value: str | None) -> str | None:
        for root in (p.strip() for p in (value or "").split(",")):
            if root.startswith("s3://"):
                try:
                    parse_s3_uri(root.replace("{tenant}", "t"))
                except ValueError as exc:
                    raise ValueError(f"{root}: {exc}") from None
        return value

    @field_validator("artifact_store")
    @classmethod
    def _artifact_store(cls, value: str | None) -> str | None:
        if value:
            try:
                parse_s3_uri(value)
            except ValueError as exc:
                raise ValueError(f"expected s3://bucket[/prefix] ({exc})") from None
        return value or None

    def source_roots_for(self, tenant_id: str) -> tuple[Path, ...]:
        """Folders ``tenant_id``'s local sources must lie under, symlinks resolved.

        ``{tenant}`` in a root stands for the tenant, so each tenant has a folder of its own; a
        root without it is shared by every tenant that may ingest (the sample corpus is).
        """
        if self.source_roots:
            raw = [p.strip() for p in self.source_roots.split(",") if p.strip()]
        else:
            raw = [str(SAMPLE_CORPUS), str(self.inbox_dir / "{tenant}")]
        raw = [p for p in raw if not p.startswith("s3://")]
        return tuple(Path(p.replace("{tenant}", tenant_id)).expanduser().resolve() for p in raw)

    def source_rules(self, tenant_id: str) -> SourceRules:
        """What ``tenant_id``'s ingest sources may name: folders under its roots, S3 prefixes
        under its ``s3://`` roots, public web pages (Firecrawl ones when it is configured)."""
        s3_roots = tuple(
            p.strip().replace("{tenant}", tenant_id)
            for p in (self.source_roots or "").split(",")
            if p.strip().startswith("s3://")
        )
        return SourceRules(
            self.source_roots_for(tenant_id),
            s3_roots,
            self.outbound_policy,
            firecrawl=bool(self.firecrawl_url),
            reserved=(self.artifact_store,) if self.artifact_store else (),
        )
