"""Partitions: one per registered source (tenant + folder or records file), never per document."""

from __future__ import annotations

import dagster as dg

from catalyst_orchestration.lib.state import Source
from catalyst_orchestration.lib.state_stores import StateBackend

PARTITIONS = "ingest_batches"  # the name the instance keeps them under
ingest_batches = dg.DynamicPartitionsDefinition(name=PARTITIONS)

#: Step retries for transient failures (decision 6): exponential backoff with jitter.
TRANSIENT_RETRY = dg.RetryPolicy(
    max_retries=3, delay=1.0, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def register_source(
    instance: dg.DagsterInstance, state: StateBackend, *, tenant_id: str, uri: str
) -> Source:
    """Register ``uri`` for ``tenant_id`` and make sure its partition exists (idempotent).

    The sensor and the synchronous ``catalystctl ingest`` both come through here, so a source
    has one partition key however its ingest was started.
    """
    source = state.register_source(tenant_id, uri)
    if not instance.has_dynamic_partition(PARTITIONS, source.partition_key):
        instance.add_dynamic_partitions(PARTITIONS, [source.partition_key])
    return source


def drop_partition(instance: dg.DagsterInstance, key: str) -> None:
    """A retired source's partition: its runs stay in the instance's history; no new one can
    target it."""
    if instance.has_dynamic_partition(PARTITIONS, key):
        instance.delete_dynamic_partition(PARTITIONS, key)
