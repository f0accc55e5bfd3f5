"""``GET /webhooks/secret`` gives the tenant's signing key, with which deliveries its receivers
accept can be signed: only a credential with the ``webhooks`` role (or an admin's) reads it,
and each tenant reads its own (security finding 11)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from catalyst_search.api.app import create_app
from catalyst_search.auth.principal import ROLES
from catalyst_search.settings import load_settings
from catalyst_search.webhooks.sender import tenant_secret
from tests.helpers.tokens import Keys, auth_env, claims, hs256

MASTER = "m" * 32


def _as(roles: tuple[str, ...], tenant: str = "t1") -> dict[str, str]:
    return {"Authorization": f"Bearer {hs256(claims(tenant=tenant, roles=roles))}"}


def test_the_signing_secret_needs_the_webhooks_role_and_is_the_callers_tenants(tmp_path):
    settings = load_settings(home=tmp_path, **auth_env(tmp_path, Keys()), webhook_secret=MASTER)
    with TestClient(create_app(settings)) as client:
        for roles in [("ingest",), ("search", "ingest", "feedback", "debug")]:
            refused = client.get("/webhooks/secret", headers=_as(roles))
            assert refused.status_code == 403 and "webhooks" in refused.json()["detail"]
        mine = client.get("/webhooks/secret", headers=_as(("webhooks",)))
        assert mine.status_code == 200 and mine.headers["cache-control"] == "no-store"
        assert mine.json() == {"tenant_id": "t1", "secret": tenant_secret(MASTER, "t1")}
        theirs = client.get("/webhooks/secret", headers=_as(("webhooks",), tenant="t2")).json()
        assert theirs["tenant_id"] == "t2" and theirs["secret"] != mine.json()["secret"]
        operator = client.get("/webhooks/secret", headers=_as(("admin",), tenant="ops"))
        assert operator.json() == {"tenant_id": "ops", "secret": tenant_secret(MASTER, "ops")}
        every_role = {"tenant_id": "t1", "roles": sorted(ROLES), "label": "all"}
        created = client.post("/admin/keys", json=every_role, headers=_as(("admin",), "ops"))
        assert created.status_code == 201, created.text  # six roles now, webhooks among them
        key = {"X-API-Key": created.json()["key"]}
        assert client.get("/webhooks/secret", headers=key).json()["tenant_id"] == "t1"
