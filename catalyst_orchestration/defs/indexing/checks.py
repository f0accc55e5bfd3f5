"""Data-quality checks of the chunk and index assets, evaluated as they materialize."""

from __future__ import annotations

import dagster as dg

from catalyst_orchestration.lib.indexing import source_filter
from catalyst_orchestration.lib.records import Batch
from catalyst_orchestration.lib.state_stores import StateBackend
from catalyst_search.index.contract import IndexWriter
from catalyst_search.index.schema import DENSE_SIZE

NO_EMPTY_CHUNKS = dg.AssetCheckSpec("no_empty_chunk_text", asset="chunks")
POINTS_MATCH = dg.AssetCheckSpec("points_match_chunks", asset="index")
VECTOR_DIMENSIONS = dg.AssetCheckSpec("dense_vector_dimensions", asset="index")


def check_no_empty_chunks(batch: Batch) -> dg.AssetCheckResult:
    empty = [
        f"{doc.document.document_id}#{chunk.chunk_no}"
        for doc in batch.items
        for chunk in doc.chunks
        if not chunk.text.strip()
    ]
    return dg.AssetCheckResult(
        check_name=NO_EMPTY_CHUNKS.name,
        passed=not empty,
        metadata={"empty_chunks": len(empty), "examples": dg.MetadataValue.json(empty[:20])},
    )


def check_points_match(
    writer: IndexWriter, state: StateBackend, *, collection: str, tenant: str, source: str
) -> dg.AssetCheckResult:
    """The index holds exactly as many points for this source as the manifest says."""
    expected = state.source_totals(collection, tenant, source).chunks
    actual = writer.count(source_filter(tenant, source))
    return dg.AssetCheckResult(
        check_name=POINTS_MATCH.name,
        passed=expected == actual,
        metadata={"expected_points": expected, "points_in_index": actual},
    )


def check_vector_dimensions(
    writer: IndexWriter, *, tenant: str, source: str, sample: int = 64
) -> dg.AssetCheckResult:
    sizes = writer.dense_sizes(source_filter(tenant, source), limit=sample)
    wrong = [size for size in sizes if size != DENSE_SIZE]
    return dg.AssetCheckResult(
        check_name=VECTOR_DIMENSIONS.name,
        passed=not wrong,
        metadata={"sampled": len(sizes), "expected_size": DENSE_SIZE, "wrong": len(wrong)},
    )
