"""Chunking and indexing: token-aware chunks, then dense + sparse vectors in Qdrant."""

import time

import dagster as dg

from catalyst_orchestration.defs.failures import raise_classified, refuse
from catalyst_orchestration.defs.indexing.checks import (
    NO_EMPTY_CHUNKS,
    POINTS_MATCH,
    VECTOR_DIMENSIONS,
    check_no_empty_chunks,
    check_points_match,
    check_vector_dimensions,
)
from catalyst_orchestration.defs.indexing.reporting import (
    ProgressReport,
    index_metadata,
    outcome_line,
)
from catalyst_orchestration.defs.jobs import INGEST_ASSETS
from catalyst_orchestration.defs.partitions import TRANSIENT_RETRY, ingest_batches
from catalyst_orchestration.defs.resources import (
    EncodersResource,
    JobStoreResource,
    QdrantIndexResource,
    StateStoreResource,
)
from catalyst_orchestration.defs.resources.handover import forget_partition
from catalyst_orchestration.lib.indexing import index_batch
from catalyst_orchestration.lib.records import Batch
from catalyst_orchestration.lib.stages import chunk_batch
from catalyst_orchestration.lib.state_stores import StateBackend


@dg.asset(
    partitions_def=ingest_batches,
    group_name="ingestion",
    kinds={"python"},
    check_specs=[NO_EMPTY_CHUNKS],
)
def chunks(
    context: dg.AssetExecutionContext, parsed_documents: Batch, encoders: EncodersResource
):  # returns MaterializeResult with value=Batch; check outputs forbid a [T] annotation
    """Chunks of at most ``CATALYST_CHUNK_TOKENS`` word pieces with overlap, each carrying its
    document's title as context, so long documents are retrievable passage by passage."""
    started = time.perf_counter()
    batch = chunk_batch(parsed_documents, encoders.chunker())
    counts = [len(doc.chunks) for doc in batch.items]
    return dg.MaterializeResult(
        value=batch,
        metadata={
            "documents": len(batch.items),
            "chunks": sum(counts),
            "max_chunks_per_document": max(counts, default=0),
            "chunking": encoders.chunking.fingerprint,
            "duration_s": round(time.perf_counter() - started, 3),
        },
        check_results=[check_no_empty_chunks(batch)],
    )


@dg.asset(
    partitions_def=ingest_batches,
    group_name="ingestion",
    kinds={"qdrant"},
    retry_policy=TRANSIENT_RETRY,
    check_specs=[POINTS_MATCH, VECTOR_DIMENSIONS],
)
def index(
    context: dg.AssetExecutionContext,
    chunks: Batch,
    qdrant: QdrantIndexResource,
    state: StateStoreResource,
    encoders: EncodersResource,
    jobs: JobStoreResource,
    io_manager: dg.ResourceParam[dg.IOManager],
) -> dg.MaterializeResult:
    """Embeds new and changed documents, deletes stale chunks and publishes an index version
    that search readers swap to. Unchanged documents are not embedded again."""
    started = time.perf_counter()
    samples = [c.text for doc in chunks.items[:2000] for c in doc.chunks]
    meta = qdrant.meta(state.store, sample_texts=samples)
    tracker = jobs.tracker(context, source=chunks.source)
    tracker.started(retry_number=context.retry_number)  # a retry run may start here
    total = sum(len(doc.chunks) for doc in chunks.items)
    try:
        writer = qdrant.open_writer()
    except Exception as exc:  # a held writer lock or an unreachable server: retried if transient
        raise_classified(exc)
        raise
    try:
        with state.store.index_lock():  # a rebuild's alias swap waits for this step, and it for it
            _still_registered(context, state.store, io_manager)
            outcome = index_batch(
                chunks,
                writer=writer,
                dense=encoders.dense_for(meta),
                sparse=encoders.sparse(meta),
                state=state.store,
                collection=qdrant.collection,
                chunking=encoders.chunking,
                progress=ProgressReport(context, tracker, total_chunks=total),
            )
        # published: the documents are searchable, so the source succeeded, whatever comes
        # next (a cancel now is too late; the checks below only report)
        tracker.progress(outcome.seen, outcome.seen, cancellable=False)
        tracker.finished(
            failures=[f.as_dict() for f in outcome.failures],
            artifact_uris=sorted({doc.document.artifact_uri.split("#")[0] for doc in chunks.items}),
            retried=chunks.retried,
        )
        checks = [
            check_points_match(
                writer,
                state.store,
                collection=qdrant.collection,
                tenant=chunks.tenant_id,
                source=chunks.source,
            ),
            check_vector_dimensions(writer, tenant=chunks.tenant_id, source=chunks.source),
        ]
    finally:
        writer.close()
    context.log.info(outcome_line(outcome))
    return dg.MaterializeResult(
        metadata=index_metadata(
            outcome,
            tenant_id=chunks.tenant_id,
            source=chunks.source,
            backend=qdrant.backend,
            meta=meta,
            duration_s=time.perf_counter() - started,
        ),
        check_results=checks,
    )


def _still_registered(
    context: dg.AssetExecutionContext, store: StateBackend, io_manager: dg.IOManager
) -> None:
    """A source retired since this run started (``retire_source``) gets nothing written back:
    checked under the index lock, which the retire holds exclusively. The run is not retried,
    and the outputs its steps stored after the retire had deleted them go too."""
    try:
        store.source(context.partition_key)
    except KeyError:
        forget_partition(io_manager, INGEST_ASSETS, context.partition_key)
        refuse(
            context,
            f"the source of partition {context.partition_key} was retired while this run ran; "
            "nothing was written (ingest it again to bring it back)",
        )
