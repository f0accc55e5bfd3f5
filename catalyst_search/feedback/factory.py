"""Open the configured feedback store."""

from __future__ import annotations

from catalyst_search.feedback.store import FeedbackStore
from catalyst_search.settings import Settings


def open_feedback(settings: Settings) -> FeedbackStore:
    """Redis when ``CATALYST_QUEUE`` names it (the production path), else SQLite."""
    if settings.queue:
        from catalyst_search.feedback.redis_store import RedisFeedbackStore
        from catalyst_search.ingest_requests.stores import redis_client

        return RedisFeedbackStore(redis_client(settings.queue), prefix=settings.redis_prefix)
    from catalyst_search.feedback.sqlite_store import SqliteFeedbackStore

    return SqliteFeedbackStore(settings.home / "feedback.sqlite")
