"""API keys: create (shown once), list and revoke. Every route needs the ``admin`` role."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response

from catalyst_search.api.deps import AdminCaller, KeysDep
from catalyst_search.api.models.errors import errors
from catalyst_search.api.models.keys import KeyCreated, KeyInfo, KeyRequest
from catalyst_search.auth.keys import mint
from catalyst_search.auth.principal import TENANT_PATTERN

router = APIRouter(prefix="/admin/keys", tags=["admin"])


@router.post(
    "", status_code=201, response_model=KeyCreated, responses=errors(401, 403, 404, 413, 422)
)
def create_key(body: KeyRequest, caller: AdminCaller, keys: KeysDep) -> KeyCreated:
    """A new API key for ``tenant_id``. The response holds the key; nothing else ever will."""
    record, key = mint(body.tenant_id, tuple(body.roles), body.label)
    keys.add(record)
    return KeyCreated(key=key, **record.public())  # type: ignore[arg-type]


@router.get("", response_model=list[KeyInfo], responses=errors(401, 403, 404, 422))
def list_keys(
    caller: AdminCaller,
    keys: KeysDep,
    tenant_id: Annotated[str | None, Query(pattern=TENANT_PATTERN)] = None,
) -> list[KeyInfo]:
    """Every key, or one tenant's; revoked keys included with their revocation time."""
    return [KeyInfo(**key.public()) for key in keys.list(tenant_id)]  # type: ignore[arg-type]


@router.delete("/{key_id}", status_code=204, responses=errors(401, 403, 404, 422))
def revoke_key(
    key_id: Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")], caller: AdminCaller, keys: KeysDep
) -> Response:
    """Revoke a key at once: the next request that presents it answers 401."""
    if not keys.revoke(key_id):
        raise HTTPException(404, f"no active API key {key_id}")
    return Response(status_code=204)
