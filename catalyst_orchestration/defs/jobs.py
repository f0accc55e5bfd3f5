"""The ingest job: one partition (source) from raw documents to a published index version."""

import dagster as dg

from catalyst_orchestration.defs.partitions import ingest_batches

INGEST_GROUP = "ingestion"
#: The ingest job's assets (its group, checked by a test): the IO manager stores the outputs of
#: the first three per partition, which ``retire_source`` deletes with the source.
INGEST_ASSETS = tuple(
    dg.AssetKey(name) for name in ("raw_documents", "parsed_documents", "chunks", "index")
)

#: The four steps run one after another on one batch, so one process runs them all: a process
#: per step (the multiprocess default) cost ~10 s of extra start-up per run, measured with
#: bench/async_ingest.py. Step retries work the same in-process.
ingest_job = dg.define_asset_job(
    "ingest",
    selection=dg.AssetSelection.groups(INGEST_GROUP),
    partitions_def=ingest_batches,
    executor_def=dg.in_process_executor,
    description="Acquire, parse, chunk, embed and index one registered source.",
)
