"""A web page source (``https://host/page``): fetched directly, its raw bytes and its main text
stored, its id the URL. A page that answers 404 or 410 is gone: its chunks are dropped."""

from __future__ import annotations

import hashlib

from catalyst_orchestration.lib.artifacts import ArtifactStore
from catalyst_orchestration.lib.records import RawDocument
from catalyst_orchestration.lib.sources.base import Acquired, fetch_failure, is_gone
from catalyst_orchestration.lib.sources.fetching import PermanentFetchError, Retrier
from catalyst_orchestration.lib.sources.web import HTML_TYPES, Page, WebFetcher, extract_main_text


def acquire_page(url: str, fetcher: WebFetcher, retrier: Retrier, store: ArtifactStore) -> Acquired:
    def fetch() -> Page:  # robots.txt is read for the page and for every redirect hop
        return fetcher.get(url, allowed=fetcher.robots_allow)

    try:
        page = retrier.call(url, fetch)
    except Exception as exc:
        failure = fetch_failure(exc, url, url, retrier)
        gone = {url} if is_gone(exc) else set()
        # a page that failed is still listed (its chunks stay) unless it is gone
        return Acquired(
            [], [failure], 1, listed=set() if gone else {url}, gone=gone, stats=retrier.stats
        )
    retrier.stats.bytes += len(page.body)
    document = page_document(url, page, store)
    retried = [r.as_dict() for r in retrier.retried]
    if isinstance(document, PermanentFetchError):
        failure = fetch_failure(document, url, url, retrier)
        return Acquired([], [failure], 1, listed={url}, retried=retried, stats=retrier.stats)
    return Acquired([document], [], 1, listed={url}, retried=retried, stats=retrier.stats)


def page_document(url: str, page: Page, store: ArtifactStore) -> RawDocument | PermanentFetchError:
    """The raw document of a fetched page; HTML travels as its extracted main text."""
    suffix = ".html" if page.content_type in HTML_TYPES else ""
    raw_uri, raw_sha = store.put_bytes(page.body, suffix=suffix)
    metadata = {"source_url": url, "final_url": page.url, "http_status": page.status}
    if page.content_type not in HTML_TYPES:
        return RawDocument(url, url, page.content_type, raw_sha, raw_uri, len(page.body), metadata)
    extracted = extract_main_text(page.body, page.url)
    if extracted is None:
        return PermanentFetchError("EmptyDocument", f"{url}: no main text found in the page")
    text = (f"# {extracted.title}\n\n" if extracted.title else "") + extracted.markdown
    data = text.encode()
    text_uri, _ = store.put_bytes(data, suffix=".md")
    metadata.update(page_title=extracted.title, text_uri=text_uri)
    return RawDocument(
        document_id=url,
        location=url,
        mime="text/markdown",
        sha256=hashlib.sha256(data).hexdigest(),  # the text decides re-embedding, not markup
        artifact_uri=raw_uri,
        size=len(page.body),
        metadata=metadata,
        inline=data,
    )
