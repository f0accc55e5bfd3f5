"""Sources: local folders and JSONL records files (local.py), S3 prefixes (s3.py), web pages
fetched directly (pages.py, web.py) or through Firecrawl (firecrawl.py).

``Acquirer.acquire`` turns any of them into raw documents whose bytes sit in the artifact
store; a document that cannot be fetched is a failure of that document alone, classified
transient or permanent (fetching.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalyst_orchestration.lib.artifacts import ArtifactStore
from catalyst_orchestration.lib.sources.base import Acquired
from catalyst_orchestration.lib.sources.fetching import FetchStats, PermanentFetchError, Retrier
from catalyst_orchestration.lib.sources.firecrawl import crawl, firecrawl_client, scrape
from catalyst_orchestration.lib.sources.local import RECORD_MIME, acquire, guess_mime
from catalyst_orchestration.lib.sources.pages import acquire_page
from catalyst_orchestration.lib.sources.s3 import acquire_s3
from catalyst_orchestration.lib.sources.web import WebFetcher
from catalyst_orchestration.lib.state_stores import StateBackend
from catalyst_search.client.retries import RetryPolicy
from catalyst_search.ingest_requests.remote import source_kind, web_url
from catalyst_search.settings import Settings

__all__ = ["RECORD_MIME", "Acquired", "Acquirer", "acquire", "guess_mime"]


@dataclass
class Acquirer:
    """Acquires a source of any kind with the deployment's settings and clients."""

    store: ArtifactStore
    state: StateBackend
    settings: Settings
    s3_client: Callable[[], Any]
    firecrawl_problem: str | None = None  # what the start-up check found wrong
    sleep: Callable[[float], None] | None = None  # tests make retries instant

    def retrier(self, kind: str) -> Retrier:
        s = self.settings
        policy = RetryPolicy(s.fetch_attempts, s.fetch_backoff_s, s.fetch_max_wait_s)
        extra = {"sleep": self.sleep} if self.sleep else {}
        return Retrier(policy, run_budget=s.fetch_run_retries, stats=FetchStats(kind), **extra)

    def acquire(self, uri: str, *, roots: Sequence[Path]) -> Acquired:
        s = self.settings
        kind = source_kind(uri)
        if kind == "folder":
            return acquire(Path(uri), self.store, roots=roots)
        if kind == "s3":
            return acquire_s3(
                uri, self.s3_client(), self.store, self.state, max_bytes=s.fetch_max_bytes
            )
        retrier = self.retrier(kind)
        if kind == "http":
            fetcher = WebFetcher(
                s.outbound_policy, s.fetch_user_agent, s.fetch_timeout_s, s.fetch_max_bytes
            )
            try:
                return acquire_page(uri, fetcher, retrier, self.store)
            finally:
                fetcher.close()
        if not s.firecrawl_url:
            raise ValueError(f"{uri}: Firecrawl sources need CATALYST_FIRECRAWL_URL")
        if self.firecrawl_problem:
            raise PermanentFetchError("FirecrawlUnavailable", self.firecrawl_problem)
        key = s.firecrawl_api_key.get_secret_value() if s.firecrawl_api_key else None
        client = firecrawl_client(s.firecrawl_url, key, timeout_s=s.fetch_timeout_s)
        if kind == "firecrawl":
            return scrape(client, web_url(uri), self.store, retrier, s.outbound_policy)
        return crawl(
            client,
            web_url(uri),
            self.store,
            retrier,
            s.outbound_policy,
            limit=s.crawl_limit,
            timeout_s=s.crawl_timeout_s,
        )
