"""The server reader: queries one Qdrant collection through the Query API."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from catalyst_search.index import qdrant_shapes
from catalyst_search.index.contract import HybridQuery, IndexNotReady
from catalyst_search.index.filters import FilterSpec
from catalyst_search.index.fusion import Candidate, run_query
from catalyst_search.index.schema import DENSE_VECTOR, Hit
from catalyst_search.index.server import aliases, conversion
from catalyst_search.settings import Settings

log = logging.getLogger("catalyst_search.index.server")


class ServerReader:
    """Reads the collection. Whether it exists is asked on open and by ``refresh`` (at most
    every ``refresh_s`` until it does), never on the search path."""

    def __init__(self, client: QdrantClient, collection: str, *, refresh_s: float = 0.5) -> None:
        self._client = client
        self._collection = collection
        self._refresh_s = refresh_s
        self._version: str | None = None
        self._checked_at = 0.0
        self.refresh(force=True)

    @classmethod
    def connect(cls, settings: Settings) -> ServerReader:
        return cls(
            conversion.connect(settings), settings.collection, refresh_s=settings.index_refresh_s
        )

    @property
    def version(self) -> str | None:
        return self._version

    @property
    def _served(self) -> str:
        """The physical collection queries go to: the version shown is the one answering."""
        return self._version or self._collection

    def refresh(self, *, force: bool = False) -> str | None:
        """Which physical collection the alias (or plain collection) serves, asked at most every
        ``refresh_s``: after an alias swap, every replica answers from (and shows) the new
        collection within ``refresh_s``. An unreachable server keeps the last answer."""
        now = time.monotonic()
        if not force and now - self._checked_at < self._refresh_s:
            return self._version
        self._checked_at = now
        try:
            self._version = aliases.target(self._client, self._collection)
        except (ResponseHandlingException, UnexpectedResponse, OSError) as exc:
            log.warning(
                "could not ask Qdrant which collection %s serves: %s", self._collection, exc
            )
        return self._version

    def recorded_encoder(self) -> tuple[str, str] | None:
        """The dense encoder the served collection records (None: no collection yet)."""
        if self.refresh() is None:
            return None
        return conversion.recorded_encoder(self._client, self._served)

    def _require_collection(self) -> None:
        if self.refresh() is None:
            raise IndexNotReady(f"collection {self._collection!r} does not exist yet")

    def _gone(self, exc: UnexpectedResponse) -> IndexNotReady | None:
        """A 404 means the collection was dropped (a rebuild swapped it out, or it was
        deleted): ask again which one is served at the next call."""
        if exc.status_code != 404:
            return None
        self._version, self._checked_at = None, 0.0
        return IndexNotReady(f"collection {self._collection!r} does not exist")

    def query(self, query: HybridQuery, timings: dict[str, float] | None = None) -> list[Hit]:
        for attempt in (1, 2):  # once more when the collection was swapped out meanwhile
            self._require_collection()
            try:
                if query.engine_fused:
                    return self._engine_fused(query)
                return run_query(query, self._legs, self._payloads, timings)
            except UnexpectedResponse as exc:
                gone = self._gone(exc)
                if gone is None or attempt == 2:
                    raise (gone or exc) from exc
            except ResponseHandlingException as exc:
                raise IndexNotReady(f"the Qdrant server does not answer: {exc}") from exc
        raise AssertionError("unreachable")

    def _engine_fused(self, query: HybridQuery) -> list[Hit]:
        """Prefetch both legs and fuse inside Qdrant."""
        params = models.SearchParams(hnsw_ef=query.hnsw_ef, exact=query.exact)
        flt = conversion.to_filter(query.filter)
        response = self._client.query_points(
            self._served,
            prefetch=[
                models.Prefetch(
                    query=vector, using=using, filter=flt, params=params, limit=query.prefetch_limit
                )
                for vector, using in conversion.leg_vectors(query)
            ],
            query=conversion.fusion_query(query),
            query_filter=flt,
            limit=query.limit,
            with_payload=True,
        )
        return [
            Hit(id=conversion.point_key(p.id), score=float(p.score), payload=dict(p.payload or {}))
            for p in response.points
        ]

    def _legs(self, query: HybridQuery) -> list[list[Candidate]]:
        """Both legs through the Query API in one batch request; ids and scores only."""
        params = models.SearchParams(hnsw_ef=query.hnsw_ef, exact=query.exact)
        flt = conversion.to_filter(query.filter)
        responses = self._client.query_batch_points(
            self._served,
            requests=[
                models.QueryRequest(
                    query=vector,
                    using=using,
                    filter=flt,
                    params=params,
                    limit=query.leg_limit,
                    with_payload=False,
                )
                for vector, using in conversion.leg_vectors(query)
            ],
        )
        return [
            [Candidate(conversion.point_key(p.id), float(p.score)) for p in response.points]
            for response in responses
        ]

    def _payloads(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        records = self._client.retrieve(self._served, ids=ids, with_payload=True)
        return {conversion.point_key(r.id): dict(r.payload or {}) for r in records}

    def count(self, flt: FilterSpec) -> int:
        self._require_collection()
        filter_ = conversion.to_filter(flt)
        return self._client.count(self._served, count_filter=filter_, exact=True).count

    def dense_vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        if not ids:
            return {}
        records = self._client.retrieve(
            self._served, ids=list(ids), with_payload=False, with_vectors=[DENSE_VECTOR]
        )
        found = {}
        for record in records:
            vector = qdrant_shapes.dense_of(record)
            if vector is not None:
                found[conversion.point_key(record.id)] = vector
        return found

    def close(self) -> None:
        self._client.close()
