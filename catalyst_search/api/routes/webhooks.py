"""The caller's webhook signing secret: what its receivers verify deliveries with."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response

from catalyst_search.api.deps import SettingsDep, WebhooksCaller
from catalyst_search.api.models.errors import errors
from catalyst_search.api.models.ingest import WebhookSecret
from catalyst_search.webhooks.sender import tenant_secret

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.get("/secret", response_model=WebhookSecret, responses=errors(401, 403, 404))
def webhook_secret(
    settings: SettingsDep, caller: WebhooksCaller, response: Response
) -> WebhookSecret:
    """The HMAC-SHA256 key of the caller's tenant (derived from CATALYST_WEBHOOK_SECRET, so
    each tenant has its own); needs the ``webhooks`` role, since whoever holds the key can sign
    deliveries the tenant's receivers accept (an ``ingest`` credential does not need it). 404
    when this deployment sends no webhooks. Never cached."""
    response.headers["Cache-Control"] = "no-store"
    if settings.webhook_secret is None:
        raise HTTPException(404, "this deployment sends no webhooks (CATALYST_WEBHOOK_SECRET)")
    secret = tenant_secret(settings.webhook_secret.get_secret_value(), caller.tenant_id)
    return WebhookSecret(tenant_id=caller.tenant_id, secret=secret)
