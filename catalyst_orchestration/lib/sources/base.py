"""What acquiring a source yields, whatever kind it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from catalyst_orchestration.lib.records import Batch, DocumentFailure, RawDocument
from catalyst_orchestration.lib.sources.fetching import (
    FetchStats,
    PermanentFetchError,
    Retrier,
    TransientFetchError,
)


@dataclass
class Acquired:
    """A source's documents and failures.

    ``listed``: the ids of every document the source holds now, when its listing is complete
    (a folder, an S3 prefix, a single page); the index drops documents of this source that are
    not among them. None when that is unknown (a crawl, a records line that failed without an
    id). ``gone``: documents the source says no longer exist (a page answering 404 or 410).
    """

    documents: list[RawDocument]
    failures: list[DocumentFailure]
    seen: int
    listed: set[str] | None = None
    gone: set[str] = field(default_factory=set)
    retried: list[dict[str, Any]] = field(default_factory=list)
    stats: FetchStats | None = None

    def batch(
        self, tenant_id: str, uri: str, failures: list[DocumentFailure] | None = None
    ) -> Batch:
        """These documents as the first batch of ``uri``'s partition (``failures``: these
        failures as recorded, when the caller annotated them)."""
        failed = self.failures if failures is None else failures
        return Batch(tenant_id, uri, self.documents, failed, self.seen, self.listed, self.gone,
                     self.retried)  # fmt: skip


def fetch_failure(
    exc: Exception, location: str, document_id: str, retrier: Retrier
) -> DocumentFailure:
    """The failure to record for a fetch that gave up: transient or permanent, with its tries."""
    attempts = next((r.attempts for r in reversed(retrier.retried) if r.location == location), 1)
    if isinstance(exc, TransientFetchError):
        klass, error = "transient", exc.reason.replace(" ", "")
    else:
        klass = "permanent"
        error = getattr(exc, "error", None) or type(exc).__name__
    retrier.stats.failures[klass] += 1
    message = str(exc)[:500]
    return DocumentFailure(location, "acquire", error, message, klass, document_id, attempts)  # type: ignore[arg-type]


def is_gone(exc: Exception) -> bool:
    return isinstance(exc, PermanentFetchError) and exc.gone
