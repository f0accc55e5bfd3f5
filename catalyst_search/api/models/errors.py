"""The one error body every route answers with, and the statuses each route documents."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_MEANING = {
    401: "No valid credential; the detail names the reason.",
    403: "The credential lacks the role this route needs.",
    404: "Unknown here, or another tenant's: the two look alike.",
    413: "The request body is over CATALYST_MAX_BODY_BYTES.",
    422: "A bad field or a limit exceeded; one line per problem.",
    409: "The job is not in a state this action applies to; the detail says which.",
    429: "The tenant's rate limit is reached; see Retry-After.",
    503: "Not available now: no index version loaded yet, or (ingest) neither the queue nor "
    "the local outbox could keep the request; see Retry-After.",
    504: "The search ran past CATALYST_SEARCH_TIMEOUT_S.",
}


class ErrorBody(BaseModel):
    detail: str


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status with the shared error body."""
    return {code: {"model": ErrorBody, "description": _MEANING[code]} for code in codes}
