"""Failure classes (decision 6): transient errors retry, permanent ones are recorded."""

from __future__ import annotations

import errno
import socket

TRANSIENT_ERRNOS = {errno.EAGAIN, errno.EBUSY, errno.ETIMEDOUT, errno.ECONNRESET, errno.EIO}


class PermanentDocumentError(Exception):
    """This document will not succeed on retry (unsupported, corrupt, malformed)."""

    error = "PermanentDocumentError"

    def __init__(self, message: str, *, error: str | None = None) -> None:
        super().__init__(message)
        if error:
            self.error = error


class UnsupportedMediaType(PermanentDocumentError):
    error = "UnsupportedMediaType"


class CorruptDocument(PermanentDocumentError):
    error = "CorruptDocument"


class MalformedRecord(PermanentDocumentError):
    error = "MalformedRecord"


class EmptyDocument(PermanentDocumentError):
    error = "EmptyDocument"


#: S3 error codes worth another try (besides any 5xx)
S3_TRANSIENT_CODES = {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout"}


def is_transient(exc: BaseException) -> bool:
    """Timeouts (a held index lock among them), resets and busy resources are worth retrying;
    so are S3's 5xx, throttling and connection errors (botocore's own exception types)."""
    if isinstance(exc, TimeoutError | ConnectionError | socket.timeout):
        return True
    if isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS:
        return True
    response = getattr(exc, "response", None)
    if isinstance(response, dict):  # botocore's ClientError
        code = str(response.get("Error", {}).get("Code", ""))
        http = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return code in S3_TRANSIENT_CODES or (
            isinstance(http, int) and (http == 429 or http >= 500)
        )
    if _botocore_transient(exc):
        return True
    status = getattr(response, "status_code", None)
    return isinstance(status, int) and (status == 429 or status >= 500)


def _botocore_transient(exc: BaseException) -> bool:
    try:
        from botocore import exceptions as boto
    except ImportError:  # pragma: no cover - botocore is a dependency
        return False
    kinds = (boto.ConnectionError, boto.HTTPClientError, boto.IncompleteReadError,
             boto.ResponseStreamingError)  # fmt: skip
    return isinstance(exc, kinds)
