"""Remote sources: what an S3 or web source URI looks like, and which ones a tenant may name.

- ``s3://bucket/prefix``: every object under the prefix. It must lie under one of the tenant's
  S3 roots (``s3://`` entries of ``CATALYST_SOURCE_ROOTS``, ``{tenant}`` allowed), so one
  tenant cannot read another's bucket through the deployment's credentials.
- ``https://host/page`` (or ``http://``): one page fetched directly.
- ``firecrawl+https://host/page``: one page scraped by Firecrawl; ``crawl+https://host/`` a
  site crawled by Firecrawl. Both need ``CATALYST_FIRECRAWL_URL``.
Web URLs must reach public addresses (or ones in ``CATALYST_OUTBOUND_ALLOW``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from catalyst_search.outbound import OutboundPolicy, OutboundRefused, ResolutionUnavailable

SourceKind = Literal["folder", "s3", "http", "firecrawl", "crawl"]
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_WEB_PREFIXES = {"firecrawl+": "firecrawl", "crawl+": "crawl"}


class RemoteSourceError(ValueError):
    """A remote source URI that cannot be ingested; the message says why."""


@dataclass(frozen=True)
class SourceRules:
    """What one tenant's ingest sources may name."""

    roots: tuple[Path, ...]
    s3_roots: tuple[str, ...] = ()
    policy: OutboundPolicy = field(default_factory=OutboundPolicy)
    firecrawl: bool = False
    reserved: tuple[str, ...] = ()  # S3 prefixes no source may overlap (the artifact store)


def source_kind(uri: str) -> SourceKind:
    lowered = uri[:16].lower()
    if lowered.startswith("s3://"):
        return "s3"
    if lowered.startswith(("http://", "https://")):
        return "http"
    for prefix, kind in _WEB_PREFIXES.items():
        if lowered.startswith(prefix):
            return kind  # type: ignore[return-value]
    return "folder"


def web_url(uri: str) -> str:
    """The page URL of a web source (its ``firecrawl+``/``crawl+`` prefix dropped)."""
    for prefix in _WEB_PREFIXES:
        if uri.lower().startswith(prefix):
            return uri[len(prefix) :]
    return uri


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key prefix) of ``s3://bucket/prefix``; ``ValueError`` for anything else."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri[:80]!r}")
    bucket, _, prefix = uri[5:].partition("/")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise ValueError(f"{bucket!r} is not a valid bucket name")
    if len(prefix) > 1024 or "\x00" in prefix:
        raise ValueError("the key prefix is too long or holds a NUL")
    return bucket, prefix


def _under(prefix: str, root: str) -> bool:
    """Whether key prefix ``prefix`` lies under ``root`` by whole path segments."""
    root = root.rstrip("/")
    return not root or prefix.rstrip("/") == root or prefix.startswith(root + "/")


def key_in(key: str, prefix: str) -> bool:
    """Whether object ``key`` belongs to source prefix ``prefix``: the object itself, or an
    object under it by whole segments (``tenants/t1`` holds ``tenants/t1/a``, not
    ``tenants/t1x/a``), so a listing never reaches a sibling tenant's objects."""
    return not prefix or key == prefix or key.startswith(prefix.rstrip("/") + "/")


def check_remote(uri: str, rules: SourceRules, *, where: str = "source") -> str:
    """``uri`` normalised, or ``RemoteSourceError`` saying what is wrong with it and the fix."""
    kind = source_kind(uri)
    if kind == "s3":
        try:
            bucket, prefix = parse_s3_uri(uri)
        except ValueError as exc:
            raise RemoteSourceError(f"{where}: {exc}") from None
        for reserved in rules.reserved:
            r_bucket, r_prefix = parse_s3_uri(reserved)
            if bucket == r_bucket and (_under(prefix, r_prefix) or _under(r_prefix, prefix)):
                raise RemoteSourceError(
                    f"{where}: s3://{bucket}/{prefix} overlaps the artifact store"
                )
        for root in rules.s3_roots:
            try:
                root_bucket, root_prefix = parse_s3_uri(root)
            except ValueError:  # {tenant} made an invalid bucket name for this tenant
                continue
            if bucket == root_bucket and _under(prefix, root_prefix):
                return f"s3://{bucket}/{prefix}"
        allowed = ", ".join(rules.s3_roots) or "none configured"
        raise RemoteSourceError(
            f"{where}: s3://{bucket}/{prefix} is outside this tenant's S3 roots ({allowed}); "
            "add an s3://bucket/prefix entry to CATALYST_SOURCE_ROOTS"
        )
    if kind in ("firecrawl", "crawl") and not rules.firecrawl:
        raise RemoteSourceError(
            f"{where}: {kind}+ sources need Firecrawl: set CATALYST_FIRECRAWL_URL "
            "(and CATALYST_FIRECRAWL_API_KEY)"
        )
    try:
        rules.policy.check_url(web_url(uri))
    except OutboundRefused as exc:
        raise RemoteSourceError(f"{where}: {exc}") from None
    except ResolutionUnavailable as exc:  # not the URL's fault: raised as it is, named
        raise ResolutionUnavailable(f"{where}: {exc}") from None
    return uri
