"""Python SDK for the CatalystIndex search service: typed results over the HTTP API.

It speaks HTTP only (httpx) and imports nothing of the service, so it installs and runs
anywhere. ``CatalystClient`` is synchronous, ``AsyncCatalystClient`` the same for asyncio.
"""

from catalyst_search.client import calls, streams, webhooks
from catalyst_search.client.aio import AsyncCatalystClient
from catalyst_search.client.errors import (
    CatalystError,
    Conflict,
    Forbidden,
    InvalidRequest,
    JobTimeout,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
    Unreachable,
)
from catalyst_search.client.feedback_models import (
    AnalyticsBucket,
    FeedbackAnalytics,
    FeedbackRecorded,
)
from catalyst_search.client.http import CatalystClient
from catalyst_search.client.models import (
    TERMINAL,
    DocumentFailure,
    IngestJob,
    JobAccepted,
    JobEvent,
    JobPage,
    JobSource,
    JobSummary,
    SearchHit,
    SearchResults,
)
from catalyst_search.client.retries import RetryPolicy

__all__ = [
    "AnalyticsBucket",
    "FeedbackAnalytics",
    "FeedbackRecorded",
    "TERMINAL",
    "calls",
    "streams",
    "webhooks",
    "AsyncCatalystClient",
    "CatalystClient",
    "CatalystError",
    "Conflict",
    "DocumentFailure",
    "Forbidden",
    "IngestJob",
    "InvalidRequest",
    "JobAccepted",
    "JobEvent",
    "JobPage",
    "JobSource",
    "JobSummary",
    "JobTimeout",
    "NotFound",
    "RateLimited",
    "RetryPolicy",
    "SearchHit",
    "SearchResults",
    "ServiceUnavailable",
    "Unauthorized",
    "Unreachable",
]
