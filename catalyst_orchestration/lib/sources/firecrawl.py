"""Firecrawl sources through the ``firecrawl-py`` SDK (v2 API at ``CATALYST_FIRECRAWL_URL``):
``firecrawl+https://…`` scrapes one page, ``crawl+https://…`` crawls a site (the crawl job is
polled until it ends). Pages arrive as markdown with their title, source URL and status; a
page whose status is 404 or 410 is gone. The SDK's own retries are off: ``Retrier`` owns them.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from typing import Any

from catalyst_orchestration.lib.artifacts import ArtifactStore
from catalyst_orchestration.lib.records import DocumentFailure, FailureClass, RawDocument
from catalyst_orchestration.lib.sources.base import Acquired, fetch_failure
from catalyst_orchestration.lib.sources.fetching import (
    GONE,
    PermanentFetchError,
    Retrier,
    TransientFetchError,
)
from catalyst_search.outbound import OutboundPolicy, OutboundRefused, ResolutionUnavailable

POLL_S = 2.0
ENDED = ("completed", "failed", "cancelled")


def firecrawl_client(url: str, api_key: str | None, *, timeout_s: float) -> Any:
    from firecrawl.v2.client import FirecrawlClient  # a heavy import, only where it is used

    return FirecrawlClient(api_key=api_key or "", api_url=url, timeout=timeout_s, max_retries=1)


def _page(doc: Any, fallback_url: str, store: ArtifactStore) -> RawDocument | DocumentFailure:
    """A raw document, or a failure (HTTP404/HTTP410: the page is gone)."""
    meta = doc.metadata
    get = (
        (lambda k: getattr(meta, k, None))
        if meta is not None and not isinstance(meta, dict)
        else (lambda k: (meta or {}).get(k))
    )
    url = get("source_url") or get("url") or fallback_url
    status = get("status_code")
    if isinstance(status, int) and status >= 400:
        error = f"HTTP{status}"
        return DocumentFailure(url, "acquire", error, f"{url} answered {status}", "permanent", url)
    markdown = (doc.markdown or "").strip()
    if not markdown:
        return DocumentFailure(url, "acquire", "EmptyDocument", "no markdown", "permanent", url)
    title = str(get("title") or "")
    text = (f"# {title}\n\n" if title and not markdown.startswith("#") else "") + markdown
    data = text.encode()
    uri, _ = store.put_bytes(data, suffix=".md")
    return RawDocument(
        document_id=url,
        location=url,
        mime="text/markdown",
        sha256=hashlib.sha256(data).hexdigest(),
        artifact_uri=uri,
        size=len(data),
        metadata={"source_url": url, "page_title": title, "http_status": status, "text_uri": uri},
        inline=data,
    )


def _collect(
    docs: list[Any], url: str, store: ArtifactStore, retrier: Retrier, policy: OutboundPolicy
) -> Acquired:
    out = Acquired([], [], 0, stats=retrier.stats)
    for doc in docs:
        out.seen += 1
        item = _page(doc, url, store)
        refusal = _refusal(item.document_id, policy) if isinstance(item, RawDocument) else None
        if refusal is not None:
            # Firecrawl followed a link or redirect to an address we may not reach ourselves:
            # a self-hosted Firecrawl inside the network must not index the network for us
            item = DocumentFailure(item.location, "acquire", *refusal, item.document_id)
        if isinstance(item, DocumentFailure):
            retrier.stats.failures[item.failure_class] += 1
            out.failures.append(item)
            if item.error in {f"HTTP{status}" for status in GONE}:
                out.gone.add(item.location)  # recorded, and its chunks dropped
        else:
            retrier.stats.bytes += item.size
            out.documents.append(item)
    out.retried = [r.as_dict() for r in retrier.retried]
    return out


def _refusal(url: str, policy: OutboundPolicy) -> tuple[str, str, FailureClass] | None:
    """(error, message, class) when the page's address may not be used; None when it may. A
    name that cannot be resolved now is tried again with the next ingest, not dropped."""
    try:
        policy.check_url(url)
    except ResolutionUnavailable as exc:
        return (
            "ResolutionUnavailable",
            f"the page's address cannot be resolved now: {exc}",
            "transient",
        )
    except OutboundRefused:
        return (
            "OutboundRefused",
            "the page's address is not public (CATALYST_OUTBOUND_ALLOW)",
            "permanent",
        )
    return None


def scrape(
    client: Any, url: str, store: ArtifactStore, retrier: Retrier, policy: OutboundPolicy
) -> Acquired:
    try:
        doc = retrier.call(
            url, lambda: client.scrape(url, formats=["markdown"], only_main_content=True)
        )
    except Exception as exc:
        failure = fetch_failure(_permanent(exc), url, url, retrier)
        listed = None if failure.failure_class == "transient" else {url}
        return Acquired([], [failure], 1, listed=listed, stats=retrier.stats)
    out = _collect([doc], url, store, retrier, policy)
    out.listed = {d.document_id for d in out.documents} | {f.location for f in out.failures}
    return out


def crawl(
    client: Any,
    url: str,
    store: ArtifactStore,
    retrier: Retrier,
    policy: OutboundPolicy,
    *,
    limit: int,
    timeout_s: float,
) -> Acquired:
    """A site crawl: pages not returned this time keep their chunks (a crawl is not a complete
    listing); pages returned as 404/410 are gone. The job is polled without its pages until it
    ends, then read once, all pages; a crawl that outlives ``timeout_s`` is cancelled."""
    from firecrawl.v2.types import PaginationConfig, ScrapeOptions

    options = ScrapeOptions(formats=["markdown"], only_main_content=True)
    first_page = PaginationConfig(auto_paginate=False)
    job = None
    try:
        job = retrier.call(
            url, lambda: client.start_crawl(url, limit=limit, scrape_options=options)
        )
        deadline = time.monotonic() + timeout_s
        while True:
            status = retrier.call(url, lambda: client.get_crawl_status(job.id, first_page))
            if status.status in ENDED:
                break
            if time.monotonic() > deadline:
                raise TransientFetchError("timeout", f"crawl {job.id} did not end in {timeout_s}s")
            retrier.sleep(POLL_S)
        if status.status != "completed":
            raise TransientFetchError("CrawlFailed", f"crawl {job.id} ended {status.status}")
        status = retrier.call(url, lambda: client.get_crawl_status(job.id))  # every page
    except Exception as exc:
        if job is not None and isinstance(exc, TransientFetchError) and exc.reason == "timeout":
            _cancel(client, job.id)
        failure = fetch_failure(_permanent(exc), url, url, retrier)
        return Acquired([], [failure], 1, stats=retrier.stats)
    return _collect(list(status.data or []), url, store, retrier, policy)


def _cancel(client: Any, crawl_id: str) -> None:
    with contextlib.suppress(Exception):  # best effort: the crawl expires on its own
        client.cancel_crawl(crawl_id)


def _permanent(exc: Exception) -> Exception:
    """The SDK's HTTP errors as ours: its 4xx (a rejected key among them) are permanent."""
    status = getattr(exc, "status_code", None)
    if isinstance(exc, TransientFetchError | PermanentFetchError) or not isinstance(status, int):
        return exc
    if status == 401:
        return PermanentFetchError(
            "FirecrawlUnauthorized",
            "Firecrawl rejected the API key: set CATALYST_FIRECRAWL_API_KEY to a valid key",
            status=status,
        )
    return PermanentFetchError(f"HTTP{status}", str(exc)[:300], status=status)
