"""Acquisition: a registered source's documents, their bytes persisted to the artifact store."""

import time
from pathlib import Path

import dagster as dg

from catalyst_orchestration.defs.failures import (
    failure_metadata,
    log_failures,
    raise_classified,
    with_attempts,
)
from catalyst_orchestration.defs.partitions import TRANSIENT_RETRY, ingest_batches
from catalyst_orchestration.defs.resources import (
    ArtifactStoreResource,
    JobStoreResource,
    StateStoreResource,
)
from catalyst_orchestration.lib.records import Batch
from catalyst_orchestration.lib.sources import acquire


@dg.asset(
    partitions_def=ingest_batches,
    group_name="ingestion",
    kinds={"python", "filesystem"},
    retry_policy=TRANSIENT_RETRY,
)
def raw_documents(
    context: dg.AssetExecutionContext,
    state: StateStoreResource,
    artifacts: ArtifactStoreResource,
    jobs: JobStoreResource,
) -> dg.MaterializeResult[Batch]:
    """Every document of the partition's source, stored by sha256 so later steps and re-runs
    read the exact bytes that were ingested."""
    started = time.perf_counter()
    source = state.store.source(context.partition_key)
    jobs.tracker(context, source=source.uri).started(retry_number=context.retry_number)
    try:
        roots = state.source_roots(source.tenant_id)
        acquired = acquire(Path(source.uri), artifacts.store, roots=roots)
    except Exception as exc:  # a missing or out-of-roots source is permanent; I/O retries
        raise_classified(exc)
        raise
    failures = with_attempts(context, acquired.failures)
    log_failures(context, failures)
    context.log.info(
        f"acquired {len(acquired.documents)} of {acquired.seen} documents from {source.uri}"
    )
    batch = Batch(source.tenant_id, source.uri, acquired.documents, failures, acquired.seen)
    return dg.MaterializeResult(
        value=batch,
        metadata={
            "tenant_id": source.tenant_id,
            "source": source.uri,
            "documents_seen": acquired.seen,
            "documents_acquired": len(acquired.documents),
            "documents_failed": len(failures),
            "bytes": sum(d.size for d in acquired.documents),
            "duration_s": round(time.perf_counter() - started, 3),
            **failure_metadata(failures),
        },
    )
