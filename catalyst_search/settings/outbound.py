"""Settings of the requests this deployment makes on a caller's behalf: webhooks (and, with
remote acquisition, fetches), and which private addresses they may reach."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings

from catalyst_search.outbound import OutboundPolicy, OutboundRefused


class OutboundFields(BaseSettings):
    """``CATALYST_OUTBOUND_ALLOW`` and ``CATALYST_WEBHOOK_*``."""

    outbound_allow: str = Field(
        "",
        description="Comma-separated addresses or networks (127.0.0.1, 10.0.0.0/8) outbound "
        "requests may reach although private, loopback or link-local; unset: public only.",
    )
    webhook_secret: SecretStr | None = Field(
        None,
        description="Key every tenant's webhook signing secret is derived from; unset: "
        "webhooks are refused.",
    )
    tenant_webhooks: str = Field(
        "",
        description="tenant=URL pairs, comma-separated: every job of that tenant reports its "
        "end there (besides a job's own webhook_url).",
    )
    webhook_attempts: int = Field(6, ge=1, le=20, description="Deliveries tried per webhook.")
    webhook_backoff_s: float = Field(
        5.0, ge=0, le=3600, description="Wait before the 2nd attempt; doubles, with jitter."
    )
    webhook_timeout_s: float = Field(10.0, gt=0, le=60, description="One delivery's timeout.")

    @field_validator("outbound_allow")
    @classmethod
    def _networks(cls, value: str) -> str:
        OutboundPolicy.from_setting(value)
        return value

    @model_validator(mode="after")
    def _tenant_webhook_urls(self) -> OutboundFields:
        """Every pair is tenant=URL with an http(s) URL the outbound policy allows (its form;
        names are resolved at delivery)."""
        for pair in filter(None, (p.strip() for p in self.tenant_webhooks.split(","))):
            tenant, sep, url = pair.partition("=")
            if not (sep and tenant.strip() and url.strip()):
                raise ValueError(f"CATALYST_TENANT_WEBHOOKS: expected tenant=URL, got {pair!r}")
            try:
                self.outbound_policy.check_url(url.strip(), resolve=False)
            except OutboundRefused as exc:
                raise ValueError(f"CATALYST_TENANT_WEBHOOKS: {tenant.strip()}: {exc}") from None
        return self

    @property
    def outbound_policy(self) -> OutboundPolicy:
        return OutboundPolicy.from_setting(self.outbound_allow)

    def tenant_webhook(self, tenant_id: str) -> str | None:
        """The URL every job of ``tenant_id`` reports to, if one is configured."""
        for pair in self.tenant_webhooks.split(","):
            tenant, sep, url = pair.strip().partition("=")
            if sep and tenant.strip() == tenant_id and url.strip():
                return url.strip()
        return None
