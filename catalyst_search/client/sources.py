"""Watched sources in the SDK: ``client.watch_source("s3://bucket/docs")`` keeps a source in
sync (the code location's sensors and nightly schedule), ``list_sources`` and
``unwatch_source`` manage them. Each answer is the API's JSON (``watch_id``, ``uri``, ``kind``,
``created_at``)."""

from __future__ import annotations

from typing import Any

from catalyst_search.client.calls import Call


def watch_source(uri: str) -> Call:
    """Safe to repeat: the same source is one watch."""
    return Call("POST", "/sources", json={"uri": uri})


def list_sources() -> Call:
    return Call("GET", "/sources", lambda r: r.json()["sources"])


def unwatch_source(watch_id: str) -> Call:
    return Call("DELETE", f"/sources/{watch_id}", lambda r: None, gone_is_done=True)


class SourceCalls:
    """The watched-source calls of ``CatalystClient``."""

    def _execute(self, call: Call) -> Any:
        raise NotImplementedError

    def watch_source(self, uri: str) -> dict[str, Any]:
        """Keep ``uri`` (folder, s3://bucket/prefix, or web page) in sync for this tenant."""
        result: dict[str, Any] = self._execute(watch_source(uri))
        return result

    def list_sources(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._execute(list_sources())
        return result

    def unwatch_source(self, watch_id: str) -> None:
        self._execute(unwatch_source(watch_id))


class AsyncSourceCalls:
    """The same for ``AsyncCatalystClient``."""

    async def _execute(self, call: Call) -> Any:
        raise NotImplementedError

    async def watch_source(self, uri: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._execute(watch_source(uri))
        return result

    async def list_sources(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._execute(list_sources())
        return result

    async def unwatch_source(self, watch_id: str) -> None:
        await self._execute(unwatch_source(watch_id))
