"""Acquisition: a registered source's documents, their bytes persisted to the artifact store."""

import time

import dagster as dg

from catalyst_orchestration.defs.failures import (
    MAX_LISTED,
    failure_metadata,
    log_failures,
    raise_classified,
    with_attempts,
)
from catalyst_orchestration.defs.partitions import TRANSIENT_RETRY, ingest_batches
from catalyst_orchestration.defs.resources import (
    AcquisitionResource,
    ArtifactStoreResource,
    JobStoreResource,
    StateStoreResource,
)
from catalyst_orchestration.lib.records import Batch
from catalyst_search.ingest_requests.remote import source_kind
from catalyst_search.ingest_requests.sources import check_source


@dg.asset(
    partitions_def=ingest_batches,
    group_name="ingestion",
    kinds={"python", "filesystem", "s3"},
    retry_policy=TRANSIENT_RETRY,
)
def raw_documents(
    context: dg.AssetExecutionContext,
    state: StateStoreResource,
    artifacts: ArtifactStoreResource,
    acquisition: AcquisitionResource,
    jobs: JobStoreResource,
) -> dg.MaterializeResult[Batch]:
    """Every document of the partition's source (a folder, records file, S3 prefix or web
    page/site), stored by sha256 so later steps and re-runs read the exact bytes that were
    ingested. Transient fetch failures are retried per document; what still fails is recorded
    per document with its class."""
    started = time.perf_counter()
    source = state.store.source(context.partition_key)
    tracker = jobs.tracker(context, source=source.uri)
    tracker.started(retry_number=context.retry_number)
    kind = source_kind(source.uri)
    try:
        rules = state.source_rules(source.tenant_id)
        if kind != "folder":  # local paths are checked inside, file by file
            check_source(source.uri, rules=rules)
        acquirer = acquisition.acquirer(artifacts.store, state.store)
        acquired = acquirer.acquire(source.uri, roots=rules.roots)
    except Exception as exc:  # a missing or out-of-roots source is permanent; I/O retries
        raise_classified(exc)
        raise
    failures = with_attempts(context, acquired.failures)
    log_failures(context, failures)
    context.log.info(
        f"acquired {len(acquired.documents)} of {acquired.seen} documents from {source.uri}"
        + (f"; {len(acquired.gone)} gone" if acquired.gone else "")
    )
    batch = acquired.batch(source.tenant_id, source.uri, failures)
    stats = acquired.stats.as_metadata() if acquired.stats else {}
    return dg.MaterializeResult(
        value=batch,
        metadata={
            "tenant_id": source.tenant_id,
            "source": source.uri,
            "source_kind": kind,
            "documents_seen": acquired.seen,
            "documents_acquired": len(acquired.documents),
            "documents_failed": len(failures),
            "documents_gone": len(acquired.gone),
            "listing_complete": acquired.listed is not None,
            "bytes": sum(d.size for d in acquired.documents),
            "artifact_uris": dg.MetadataValue.json(
                sorted({d.artifact_uri.split("#")[0] for d in acquired.documents})[:MAX_LISTED]
            ),
            **{k: dg.MetadataValue.json(v) if isinstance(v, dict) else v for k, v in stats.items()},
            "duration_s": round(time.perf_counter() - started, 3),
            **failure_metadata(failures),
        },
    )
