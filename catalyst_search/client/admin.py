"""The admin calls of both clients: API keys (``create_key``, ``list_keys``, ``revoke_key``) and
feedback boost versions (``boost_versions``, ``activate_boosts`` for a rollback). Each answer is
the API's JSON."""

from __future__ import annotations

from typing import Any

from catalyst_search.client import calls
from catalyst_search.client.calls import Call


class AdminCalls:
    """The admin calls of ``CatalystClient``."""

    def _execute(self, call: Call) -> Any:
        raise NotImplementedError

    def create_key(self, tenant_id: str, roles: list[str], *, label: str = "") -> dict[str, Any]:
        """A new API key (admin). The result's ``key`` is shown this once."""
        result: dict[str, Any] = self._execute(calls.create_key(tenant_id, roles, label))
        return result

    def list_keys(self, tenant_id: str | None = None) -> list[dict[str, Any]]:
        """Every API key, or one tenant's (admin); never the keys themselves."""
        result: list[dict[str, Any]] = self._execute(calls.list_keys(tenant_id))
        return result

    def revoke_key(self, key_id: str) -> None:
        """Revoke an API key at once (admin)."""
        self._execute(calls.revoke_key(key_id))

    def boost_versions(self) -> list[dict[str, Any]]:
        """The tenant's boost versions, newest first; ``live`` marks the one in force."""
        result: list[dict[str, Any]] = self._execute(calls.boost_versions())
        return result

    def activate_boosts(self, version: str) -> dict[str, Any]:
        """Put a boost version in force (admin): how a rollback is done."""
        result: dict[str, Any] = self._execute(calls.activate_boosts(version))
        return result


class AsyncAdminCalls:
    """The same for ``AsyncCatalystClient``."""

    async def _execute(self, call: Call) -> Any:
        raise NotImplementedError

    async def create_key(
        self, tenant_id: str, roles: list[str], *, label: str = ""
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._execute(calls.create_key(tenant_id, roles, label))
        return result

    async def list_keys(self, tenant_id: str | None = None) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._execute(calls.list_keys(tenant_id))
        return result

    async def revoke_key(self, key_id: str) -> None:
        await self._execute(calls.revoke_key(key_id))

    async def boost_versions(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._execute(calls.boost_versions())
        return result

    async def activate_boosts(self, version: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._execute(calls.activate_boosts(version))
        return result
