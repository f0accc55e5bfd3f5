"""Python SDK for the CatalystIndex search service: typed results over the HTTP API.

It speaks HTTP only and imports nothing of the service, so it installs and runs anywhere.
"""

from catalyst_search.client.http import CatalystClient
from catalyst_search.client.models import (
    TERMINAL,
    CatalystError,
    DocumentFailure,
    IngestJob,
    JobAccepted,
    JobSource,
    JobTimeout,
    SearchHit,
    SearchResults,
)

__all__ = [
    "TERMINAL",
    "CatalystClient",
    "CatalystError",
    "DocumentFailure",
    "IngestJob",
    "JobAccepted",
    "JobSource",
    "JobTimeout",
    "SearchHit",
    "SearchResults",
]
