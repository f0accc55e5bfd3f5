"""What the SDK raises: one ``CatalystError`` per kind of answer, each with the server's message."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from catalyst_search.client.models import IngestJob


def shown_url(url: str) -> str:
    """``url`` as a message may show it: ``http://user:pw@host`` -> ``http://<redacted>@host``,
    and the same without a scheme (``user:pw@host``, ``//user:pw@host``)."""
    return re.sub(r"^((?:[A-Za-z][A-Za-z0-9+.-]*:)?//)?[^/?#@]*@", r"\1<redacted>@", url)


class CatalystError(RuntimeError):
    """The service answered with an error; ``status`` and ``detail`` say which and why.

    ``status`` is 0 when no HTTP answer came at all (the service is down or unreachable).
    """

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}" if status else detail)
        self.status = status
        self.detail = detail


class Unreachable(CatalystError):
    """No answer: the service is down, unreachable, or did not answer in time."""


class InvalidRequest(CatalystError):
    """400, 413 or 422: a bad field or a limit exceeded; retrying the same request won't help."""


class Unauthorized(CatalystError):
    """401: no valid credential; the detail starts with the reason code."""


class Forbidden(CatalystError):
    """403: the credential lacks the role this call needs."""


class NotFound(CatalystError):
    """404: unknown here, or another tenant's (the two look alike)."""


class Conflict(CatalystError):
    """409: the job is not in a state the call applies to (cancel an ended job, retry one
    that succeeded)."""


class RateLimited(CatalystError):
    """429, still, after the retries: the tenant's budget is spent for now."""


class ServiceUnavailable(CatalystError):
    """5xx, still, after the retries (503: no index loaded yet; 504: the search took too long)."""


_BY_STATUS: dict[int, type[CatalystError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: InvalidRequest,
    422: InvalidRequest,
    429: RateLimited,
}


def error_for(status: int, detail: str) -> CatalystError:
    """The ``CatalystError`` subclass for an HTTP ``status``."""
    kind = _BY_STATUS.get(status) or (ServiceUnavailable if status >= 500 else CatalystError)
    return kind(status, detail)


class JobTimeout(TimeoutError):
    """``wait_for_job`` gave up before the job finished; ``job`` is the last state seen."""

    def __init__(self, job: IngestJob, timeout_s: float) -> None:
        super().__init__(f"job {job.job_id} still {job.status} after {timeout_s:g}s")
        self.job = job


def error_of(response: httpx.Response) -> CatalystError:
    """The error a response carries, with the server's ``detail`` when it sent one."""
    try:
        detail = response.json().get("detail", response.text)
    except (ValueError, AttributeError):
        detail = response.text
    return error_for(response.status_code, str(detail))
