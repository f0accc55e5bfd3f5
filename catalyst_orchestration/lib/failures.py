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


def is_transient(exc: BaseException) -> bool:
    """Timeouts (a held index lock among them), resets and busy resources are worth retrying."""
    if isinstance(exc, TimeoutError | ConnectionError | socket.timeout):
        return True
    if isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS:
        return True
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return isinstance(status, int) and (status == 429 or status >= 500)
