"""Chunking and indexing: token-aware chunks, then dense + sparse vectors in Qdrant."""

import time

import dagster as dg

from catalyst_orchestration.defs.failures import failure_metadata, raise_classified
from catalyst_orchestration.defs.indexing.checks import (
    NO_EMPTY_CHUNKS,
    POINTS_MATCH,
    VECTOR_DIMENSIONS,
    check_no_empty_chunks,
    check_points_match,
    check_vector_dimensions,
)
from catalyst_orchestration.defs.partitions import TRANSIENT_RETRY, ingest_batches
from catalyst_orchestration.defs.requests.tracking import JobTracker
from catalyst_orchestration.defs.resources import CatalystResource, EncodersResource
from catalyst_orchestration.lib.indexing import IndexProgress, index_batch
from catalyst_orchestration.lib.pushgateway import push_outcome
from catalyst_orchestration.lib.records import Batch
from catalyst_orchestration.lib.stages import chunk_batch


@dg.asset(
    partitions_def=ingest_batches,
    group_name="ingestion",
    kinds={"python"},
    check_specs=[NO_EMPTY_CHUNKS],
)
def chunks(
    context: dg.AssetExecutionContext,
    parsed_documents: Batch,
    catalyst: CatalystResource,
    encoders: EncodersResource,
):  # returns MaterializeResult with value=Batch; check outputs forbid a [T] annotation
    """Chunks of at most ``CATALYST_CHUNK_TOKENS`` word pieces with overlap, each carrying its
    document's title as context, so long documents are retrievable passage by passage."""
    started = time.perf_counter()
    config = catalyst.chunking()
    batch = chunk_batch(parsed_documents, encoders.chunker(config))
    counts = [len(doc.chunks) for doc in batch.items]
    return dg.MaterializeResult(
        value=batch,
        metadata={
            "documents": len(batch.items),
            "chunks": sum(counts),
            "max_chunks_per_document": max(counts, default=0),
            "chunking": config.fingerprint,
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
    catalyst: CatalystResource,
    encoders: EncodersResource,
) -> dg.MaterializeResult:
    """Embeds new and changed documents, deletes stale chunks and publishes an index version
    that search readers swap to. Unchanged documents are not embedded again."""
    started = time.perf_counter()
    settings = catalyst.settings()
    sample = [c.text for doc in chunks.items[:2000] for c in doc.chunks]
    meta = catalyst.index_meta(sample_texts=sample)
    total = sum(len(doc.chunks) for doc in chunks.items)
    step = max(1, total // 20)
    last = [0]
    tracker = JobTracker(context, catalyst)
    tracker.started()  # a retry run may start here, re-executing only the failed step

    def progress(p: IndexProgress) -> None:
        tracker.progress(p.documents_done, p.documents_total)
        if p.chunks_done - last[0] >= step or p.chunks_done == p.chunks_total:
            last[0] = p.chunks_done
            context.log.info(
                f"embedded {p.chunks_done}/{p.chunks_total} chunks "
                f"({100 * p.chunks_done // max(p.chunks_total, 1)}%); "
                f"{p.documents_done}/{p.documents_total} documents done"
            )

    try:
        writer = catalyst.open_writer()
    except Exception as exc:
        raise_classified(exc)
        raise
    state = catalyst.state()
    try:
        outcome = index_batch(
            chunks,
            writer=writer,
            dense=encoders.dense(),
            sparse=encoders.sparse(meta),
            state=state,
            collection=settings.collection,
            chunking=catalyst.chunking(),
            progress=progress,
        )
        checks = [
            check_points_match(
                writer,
                state,
                collection=settings.collection,
                tenant=chunks.tenant_id,
                source=chunks.source,
            ),
            check_vector_dimensions(writer, tenant=chunks.tenant_id, source=chunks.source),
        ]
    finally:
        writer.close()
    if settings.pushgateway_url:
        try:
            push_outcome(
                settings.pushgateway_url,
                outcome,
                partition=context.partition_key,
                tenant_id=chunks.tenant_id,
                step_retries=context.retry_number,
                run_retries=int(context.run.tags.get("dagster/retry_number", 0)),
                duration_s=time.perf_counter() - started,
            )
        except OSError as exc:  # monitoring must not fail the ingest
            context.log.warning(f"could not push metrics to {settings.pushgateway_url}: {exc}")
    tracker.progress(outcome.seen, outcome.seen)
    tracker.finished(
        failures=[f.as_dict() for f in outcome.failures],
        artifact_uris=sorted({doc.document.artifact_uri.split("#")[0] for doc in chunks.items}),
    )
    context.log.info(
        f"index {outcome.index_version}: {outcome.new} new, {outcome.changed} changed, "
        f"{outcome.unchanged} unchanged, {outcome.failed} failed documents; "
        f"{outcome.chunks_written} chunks written, {outcome.chunks_deleted} deleted"
    )
    return dg.MaterializeResult(
        metadata={
            "tenant_id": chunks.tenant_id,
            "source": chunks.source,
            "documents_seen": outcome.seen,
            "documents_new": outcome.new,
            "documents_changed": outcome.changed,
            "documents_unchanged": outcome.unchanged,
            "documents_failed": outcome.failed,
            "chunks_written": outcome.chunks_written,
            "chunks_deleted": outcome.chunks_deleted,
            "index_version": outcome.index_version or "",
            "index_backend": settings.index_backend,
            "bm25_avg_len": meta.bm25_avg_len,
            "embed_s": round(outcome.embed_s, 3),
            "write_s": round(outcome.write_s, 3),
            "publish_s": round(outcome.publish_s, 3),
            "duration_s": round(time.perf_counter() - started, 3),
            **failure_metadata(outcome.failures),
        },
        check_results=checks,
    )
