"""Webhooks of ended jobs delivered from the code location, where the daemon keeps ticking
(the service may run many replicas, or none)."""

from __future__ import annotations

import dagster as dg

from catalyst_orchestration.defs.resources import JobStoreResource
from catalyst_search.settings import load_settings
from catalyst_search.webhooks.sender import WebhookSender

#: a tick has about a minute: it tries only as many deliveries as can time out within 45 s
TICK_BUDGET_S = 45.0


@dg.sensor(
    name="job_webhooks",
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts the signed job-finished payload to the webhooks of ended ingest jobs, "
    "retrying with backoff; deliveries are recorded on the job.",
)
def job_webhooks(context: dg.SensorEvaluationContext, jobs: JobStoreResource) -> dg.SkipReason:
    settings = load_settings()
    sender = WebhookSender.from_settings(settings, jobs.jobs)
    limit = max(1, int(TICK_BUDGET_S // settings.webhook_timeout_s))
    done = sender.deliver_due(limit=limit)
    if done.failed:
        context.log.warning(f"{done.failed} webhook deliveries failed for good")
    return dg.SkipReason(
        f"webhooks: {done.delivered} delivered, {done.retrying} to retry, {done.failed} failed"
    )
