"""The ``retire_source`` job: one registered source (the partition chosen at launch) taken out
of the index and of the registered sources for good (lib/retire.py): its watch, its chunks, its
manifest entries, its partition and its ingest steps' stored outputs (its documents' text).
Ingest the source again to bring it back."""

import dagster as dg

from catalyst_orchestration.defs.failures import raise_classified, refuse
from catalyst_orchestration.defs.jobs import INGEST_ASSETS
from catalyst_orchestration.defs.partitions import TRANSIENT_RETRY, drop_partition, ingest_batches
from catalyst_orchestration.defs.resources import (
    JobStoreResource,
    QdrantIndexResource,
    StateStoreResource,
)
from catalyst_orchestration.defs.resources.handover import forget_partition
from catalyst_orchestration.lib.retire import RetireRefused, retire

BACKFILL_TAG = "dagster/backfill"


@dg.op(
    description="Delete a registered source's chunks, watch and step outputs, and unregister it.",
    retry_policy=TRANSIENT_RETRY,
)
def retire_registered_source(
    context: dg.OpExecutionContext,
    state: StateStoreResource,
    qdrant: QdrantIndexResource,
    jobs: JobStoreResource,
    io_manager: dg.ResourceParam[dg.IOManager],
) -> dg.Output[None]:
    key = context.partition_key
    if BACKFILL_TAG in context.run.tags:  # a backfill over all partitions would retire them all
        refuse(
            context,
            "retire_source takes one source at a time: launch it for its partition, "
            "not in a backfill",
        )
    try:
        source = state.store.source(key)
    except KeyError:  # retired already (this is a run again), or never registered
        context.log.info(
            f"no source is registered for partition {key}: nothing to retire; its partition "
            "and its step outputs are deleted if they were left"
        )
        drop_partition(context.instance, key)
        forget_partition(io_manager, INGEST_ASSETS, key)
        return dg.Output(None, metadata={"retired": False})
    try:
        writer = qdrant.open_writer()  # embedded: waits for the writer lock (an ingest's)
    except Exception as exc:  # the lock still held, or the server unreachable: retried
        raise_classified(exc)
        raise
    try:
        done = retire(
            source,
            state=state.store,
            writer=writer,
            collection=qdrant.collection,
            watches=jobs.jobs.watches,
            unregistered=lambda: drop_partition(context.instance, key),
        )
    except RetireRefused as exc:  # not retried by the instance: launch it again later
        refuse(context, str(exc))
    finally:
        writer.close()
    # what the ingest steps stored for the partition (the IO manager's storage: the instance's,
    # or S3 beside the artifacts), after the retire and outside its locks: a failure here fails
    # the step, and its retry (the source unregistered already) deletes them; an ingest run of
    # the source under way deletes what it wrote at its refused ``index`` step
    forget_partition(io_manager, INGEST_ASSETS, key)
    context.log.info(
        f"retired {source.uri} of {source.tenant_id}: {done.documents} documents and "
        f"{done.chunks} chunks deleted; watch removed: {done.watch_removed}"
    )
    return dg.Output(
        None,
        metadata={
            "retired": True,
            "source": source.uri,
            "tenant_id": source.tenant_id,
            "documents_deleted": done.documents,
            "chunks_deleted": done.chunks,
            "watch_removed": done.watch_removed,
            "index_version": done.index_version or "",
        },
    )


@dg.job(
    partitions_def=ingest_batches,
    description="Take one registered source out of the index and the registered sources.",
)
def retire_source() -> None:
    retire_registered_source()
