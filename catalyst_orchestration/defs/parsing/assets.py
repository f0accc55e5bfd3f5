"""Parsing: raw bytes to text, title and metadata through the MIME-keyed parser registry."""

import time

import dagster as dg

from catalyst_orchestration.defs.failures import failure_metadata, log_failures, with_attempts
from catalyst_orchestration.defs.partitions import TRANSIENT_RETRY, ingest_batches
from catalyst_orchestration.defs.resources import ArtifactStoreResource, JobStoreResource
from catalyst_orchestration.lib.records import Batch
from catalyst_orchestration.lib.stages import parse_batch


@dg.asset(
    partitions_def=ingest_batches,
    group_name="ingestion",
    kinds={"python"},
    retry_policy=TRANSIENT_RETRY,
)
def parsed_documents(
    context: dg.AssetExecutionContext,
    raw_documents: Batch,
    jobs: JobStoreResource,
    artifacts: ArtifactStoreResource,
) -> dg.MaterializeResult[Batch]:
    """Text of each document. Unknown types, corrupt files and malformed records are recorded
    with their location and a permanent-failure class; the rest of the batch goes on."""
    started = time.perf_counter()
    jobs.tracker(context, source=raw_documents.source).started(retry_number=context.retry_number)
    batch = parse_batch(raw_documents, artifacts.store)
    new_failures = with_attempts(context, batch.failures[len(raw_documents.failures) :])
    batch.failures[len(raw_documents.failures) :] = new_failures
    log_failures(context, new_failures)
    return dg.MaterializeResult(
        value=batch,
        metadata={
            "documents_parsed": len(batch.items),
            "documents_failed": len(batch.failures),
            "characters": sum(len(d.text) for d in batch.items),
            "duration_s": round(time.perf_counter() - started, 3),
            **failure_metadata(batch.failures),
        },
    )
