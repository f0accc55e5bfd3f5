"""The ingest job: one partition (source) from raw documents to a published index version."""

import dagster as dg

from catalyst_orchestration.defs.partitions import ingest_batches

ingest_job = dg.define_asset_job(
    "ingest",
    selection=dg.AssetSelection.groups("ingestion"),
    partitions_def=ingest_batches,
    description="Acquire, parse, chunk, embed and index one registered source.",
)
