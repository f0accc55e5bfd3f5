"""Checks of remote acquisition before any run depends on it: the S3 buckets (artifact store,
S3 source roots) exist and can be read with the credentials at hand, and Firecrawl answers
and accepts its key. Each problem names what is wrong and how to fix it, never a secret.

Used by the code location's resources when they start and by ``catalystctl doctor``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from catalyst_search.ingest_requests.remote import parse_s3_uri
from catalyst_search.settings import Settings


@dataclass(frozen=True)
class Problem:
    what: str
    fix: str
    lasting: bool = True  # False: the service may answer a moment later (unreachable, 5xx)

    def __str__(self) -> str:
        return f"{self.what}; fix: {self.fix}"


def check_bucket(client: Any, bucket: str, setting: str) -> Problem | None:
    """Whether ``bucket`` can be listed; ``setting`` names the variable that points at it."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        client.head_bucket(Bucket=bucket)
    except NoCredentialsError:
        return Problem(
            f"S3 bucket {bucket} ({setting}): no AWS credentials",
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)",
        )
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket", "NotFound"):
            return Problem(
                f"S3 bucket {bucket} ({setting}) does not exist",
                f"create the bucket or correct {setting}",
            )
        if code in ("403", "AccessDenied", "Forbidden"):
            return Problem(
                f"S3 bucket {bucket} ({setting}): access denied",
                "grant these credentials s3:ListBucket, s3:GetObject (and s3:PutObject for "
                "the artifact store) on it",
            )
        return Problem(f"S3 bucket {bucket} ({setting}): {code or exc}", "check the S3 service")
    except BotoCoreError as exc:
        return Problem(
            f"S3 for bucket {bucket} ({setting}) is unreachable ({type(exc).__name__})",
            "check AWS_ENDPOINT_URL and AWS_REGION, and that S3 answers",
        )
    return None


def check_firecrawl(url: str, api_key: str | None, *, timeout_s: float = 10.0) -> Problem | None:
    """Whether Firecrawl answers at ``url`` and accepts ``api_key`` (its credit-usage call,
    which costs no credits; a self-hosted server without it counts as reachable)."""
    import requests
    from firecrawl.v2.client import FirecrawlClient
    from firecrawl.v2.utils.error_handler import FirecrawlError, UnauthorizedError

    client = FirecrawlClient(api_key=api_key or "", api_url=url, timeout=timeout_s, max_retries=1)
    try:
        client.get_credit_usage()
    except UnauthorizedError:
        return Problem(
            f"Firecrawl at {url} rejected the API key",
            "set CATALYST_FIRECRAWL_API_KEY to a valid key",
        )
    except FirecrawlError as exc:
        if exc.status_code in (404, 405, 501):
            return None
        if exc.status_code == 402:
            return Problem(f"Firecrawl at {url}: no credits left", "add credits to the account")
        lasting = exc.status_code is not None and exc.status_code < 500
        return Problem(
            f"Firecrawl at {url} answered {exc.status_code}", "check the service", lasting
        )
    except (requests.RequestException, ValueError) as exc:
        return Problem(
            f"Firecrawl at {url} is unreachable ({type(exc).__name__})",
            "check CATALYST_FIRECRAWL_URL and that the service answers",
            lasting=False,
        )
    return None


def preflight(settings: Settings, s3_client: Callable[[], Any]) -> list[Problem]:
    """Every problem of the configured remote acquisition (an empty list when all is well)."""
    problems: list[Problem] = []
    buckets: dict[str, str] = {}
    if settings.artifact_store:
        buckets[parse_s3_uri(settings.artifact_store)[0]] = "CATALYST_ARTIFACT_STORE"
    for root in (r.strip() for r in (settings.source_roots or "").split(",")):
        if root.startswith("s3://") and "{tenant}" not in root.split("/")[2]:
            buckets.setdefault(
                parse_s3_uri(root.replace("{tenant}", "t"))[0], "CATALYST_SOURCE_ROOTS"
            )
    if buckets:
        client = s3_client()
        problems += [p for b, s in buckets.items() if (p := check_bucket(client, b, s))]
    if settings.firecrawl_url:
        key = settings.firecrawl_api_key
        problem = check_firecrawl(
            settings.firecrawl_url,
            key.get_secret_value() if key else None,
            timeout_s=settings.fetch_timeout_s,
        )
        problems += [problem] if problem else []
    return problems
