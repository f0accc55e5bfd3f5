"""Build real chunk points (real encoders) straight from records, for backend tests."""

from __future__ import annotations

import json
from pathlib import Path

from catalyst_search.embed.dense import DenseEncoder
from catalyst_search.embed.sparse import SparseEncoder
from catalyst_search.index.embedded.conversion import CONFIG_FILE
from catalyst_search.index.schema import ChunkPoint, build_payload, point_id


def search_pool_kept(shard: Path) -> int | None:
    """The search pool size Qdrant Edge keeps in ``shard``'s configuration (None: its own)."""
    return json.loads((shard / CONFIG_FILE).read_text()).get("max_search_threads")


def points_from_records(
    records: list[dict], *, tenant: str, dense: DenseEncoder, sparse: SparseEncoder
) -> list[ChunkPoint]:
    vectors = dense.encode([r["text"] for r in records])
    return [
        ChunkPoint(
            id=point_id(tenant, r["id"], 0),
            dense=vectors[i].tolist(),
            sparse=sparse.encode_document(r["text"]),
            payload=build_payload(
                tenant_id=tenant,
                document_id=r["id"],
                chunk_no=0,
                text=r["text"],
                title="",
                source="test",
                artifact_uri=f"file:///test#{r['id']}",
                content_hash=r["id"],
                mime="application/x-catalyst-record+json",
                icd_codes=[r["icd_code"]],
                metadata={"chapter": r["chapter"], "block": r.get("block")},
            ),
        )
        for i, r in enumerate(records)
    ]
