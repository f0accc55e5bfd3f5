"""The server writer: upserts and deletes on one Qdrant collection, visible at once."""

from __future__ import annotations

from collections.abc import Sequence

from qdrant_client import QdrantClient, models

from catalyst_search.index import qdrant_shapes
from catalyst_search.index.filters import FilterSpec
from catalyst_search.index.meta import EncoderMismatch, require_encoder
from catalyst_search.index.schema import DENSE_MODEL, DENSE_VECTOR, ChunkPoint
from catalyst_search.index.server import aliases, conversion
from catalyst_search.settings import Settings

_UPSERT_BATCH = 256


class ServerWriter:
    """Writes to the collection (created with its payload indexes on connect). Connected by
    the settings, it writes through the alias ``CATALYST_COLLECTION`` (aliases.py), created
    over ``<name>__v1`` the first time."""

    def __init__(self, client: QdrantClient, collection: str, *, ensure: bool = True) -> None:
        self._client = client
        self._collection = collection
        if ensure:
            conversion.ensure_collection(client, collection)

    @classmethod
    def connect(cls, settings: Settings) -> ServerWriter:
        client = conversion.connect(settings)
        # the payload indexes of this release on the collection served, old or new
        precision = settings.encoder_precision
        served = aliases.ensure_served(client, settings.collection, precision)
        try:  # never mix two encoders' vectors
            require_encoder(conversion.recorded_encoder(client, served), DENSE_MODEL, precision)
        except EncoderMismatch:
            client.close()
            raise
        conversion.ensure_collection(client, served, precision)
        return cls(client, settings.collection, ensure=False)

    def upsert(self, points: Sequence[ChunkPoint]) -> None:
        for start in range(0, len(points), _UPSERT_BATCH):
            batch = [conversion.to_point(p) for p in points[start : start + _UPSERT_BATCH]]
            self._client.upsert(self._collection, points=batch, wait=True)

    def delete(self, flt: FilterSpec) -> None:
        qdrant_filter = conversion.to_filter(flt)
        if qdrant_filter is None:
            raise ValueError("refusing to delete with an empty filter")
        self._client.delete(
            self._collection, points_selector=models.FilterSelector(filter=qdrant_filter)
        )

    def count(self, flt: FilterSpec) -> int:
        filter_ = conversion.to_filter(flt)
        return self._client.count(self._collection, count_filter=filter_, exact=True).count

    def dense_sizes(self, flt: FilterSpec, *, limit: int) -> list[int]:
        records, _ = self._client.scroll(
            self._collection,
            scroll_filter=conversion.to_filter(flt),
            limit=limit,
            with_vectors=[DENSE_VECTOR],
        )
        return [len(qdrant_shapes.dense_of(record) or []) for record in records]

    def publish(self) -> str:
        """Writes are visible at once: the version is the physical collection served."""
        return aliases.target(self._client, self._collection) or self._collection

    def current_version(self) -> str | None:
        return aliases.target(self._client, self._collection)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ServerWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
