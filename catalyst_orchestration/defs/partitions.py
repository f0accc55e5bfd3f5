"""Partitions: one per registered source (tenant + folder or records file), never per document."""

import dagster as dg

ingest_batches = dg.DynamicPartitionsDefinition(name="ingest_batches")

#: Step retries for transient failures (decision 6): exponential backoff with jitter.
TRANSIENT_RETRY = dg.RetryPolicy(
    max_retries=3, delay=1.0, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
