"""Asynchronous ingestion: accept a bulk request as a job (jobs.py reports and steers jobs)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from catalyst_search.api.deps import DispatcherDep, IngestCaller, SettingsDep
from catalyst_search.api.models.errors import errors
from catalyst_search.api.models.ingest import BulkIngestRequest, JobAccepted
from catalyst_search.ingest_requests.dispatch import submit
from catalyst_search.ingest_requests.remote import SourceRules
from catalyst_search.ingest_requests.sources import InvalidSource, check_sources
from catalyst_search.outbound import OutboundRefused, ResolutionUnavailable
from catalyst_search.settings import Settings

router = APIRouter(prefix="/ingest", tags=["ingest"])


@router.post(
    "/bulk",
    status_code=202,
    response_model=JobAccepted,
    responses=errors(401, 403, 413, 422, 429, 503),
)
def bulk(
    body: BulkIngestRequest,
    dispatcher: DispatcherDep,
    settings: SettingsDep,
    caller: IngestCaller,
) -> JobAccepted:
    """Persist the request as a job and queue it; a Dagster sensor turns it into runs.

    Local sources must lie under ``CATALYST_SOURCE_ROOTS`` (symlinks and ``..`` resolved).
    A ``webhook_url`` must reach a public address (or one in ``CATALYST_OUTBOUND_ALLOW``).
    A name (a web source's, the webhook's) the DNS cannot resolve now answers 503 with
    ``Retry-After``, not 422: nothing is wrong with it.
    """
    rules = settings.source_rules(caller.tenant_id)
    try:
        own = checked_webhooks(settings, [body.webhook_url] if body.webhook_url else [],
                               sources=body.sources, rules=rules)  # fmt: skip
        job_id, dispatch = submit(
            dispatcher,
            tenant_id=caller.tenant_id,
            sources=body.sources,
            metadata=body.metadata,
            rules=rules,
            webhooks=own,
            tenant_webhook=settings.tenant_webhook(caller.tenant_id),
        )
    except (InvalidSource, OutboundRefused) as exc:
        raise HTTPException(422, str(exc)) from exc
    return accepted(job_id, dispatch)


def accepted(job_id: str, dispatch: str) -> JobAccepted:
    return JobAccepted(
        job_id=job_id,
        status="queued",
        status_url=f"/ingest/jobs/{job_id}",
        dispatch=dispatch,  # type: ignore[arg-type]
    )


def checked_webhooks(
    settings: Settings, urls: list[str], *, sources: list[str], rules: SourceRules
) -> list[str]:
    """A job's own webhook URLs, when this deployment sends webhooks and they may be reached.
    When a name cannot be resolved now, the job's sources are checked first: an invalid one is
    the answer (422), not a 503 telling the client to send a doomed request again."""
    if urls and settings.webhook_secret is None:
        raise OutboundRefused(
            "webhook_url: this deployment sends no webhooks (CATALYST_WEBHOOK_SECRET is unset)"
        )
    try:
        for url in urls:
            settings.outbound_policy.check_url(url)
    except ResolutionUnavailable as exc:
        check_sources(sources, rules=rules)
        raise ResolutionUnavailable(f"webhook_url: {exc}") from None
    return urls
