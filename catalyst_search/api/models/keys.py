"""Request and response bodies of the API key routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from catalyst_search.auth.principal import TENANT_PATTERN
from catalyst_search.options import Role, choices


class KeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(..., pattern=TENANT_PATTERN, description="The tenant the key acts for.")
    roles: list[Role] = Field(..., min_length=1, max_length=len(choices(Role)))
    label: str = Field("", max_length=200, description="What the key is for.")


class KeyInfo(BaseModel):
    """A key as stored: never the key itself."""

    key_id: str
    tenant_id: str
    roles: list[str]
    label: str
    created_at: float
    revoked_at: float | None


class KeyCreated(KeyInfo):
    key: str = Field(description="The API key. Shown this once; only its digest is kept.")
