"""What the search service and the Dagster code location agree on about an ingest request."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

#: The sensor that turns queued requests into runs; /readyz reads its heartbeat by this name.
SENSOR_NAME = "ingest_requests"
#: Run tag carrying the job id a run belongs to; the source comes from the run's partition.
JOB_TAG = "catalyst/job_id"
#: Run tag naming the tenant of an ingest started without a job (catalystctl in sync mode).
TENANT_TAG = "catalyst/tenant"
#: A file with one of these endings is a JSONL records source; any other file is refused.
RECORD_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")


@dataclass(frozen=True)
class IngestMessage:
    """One bulk ingest request: a job with its sources."""

    job_id: str
    tenant_id: str
    sources: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)
    webhooks: list[str] = field(default_factory=list)  # the job's own, told when it ends
    tenant_webhook: str | None = None  # CATALYST_TENANT_WEBHOOKS's, when the job was accepted

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> IngestMessage:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class Delivery:
    """A claimed message: acknowledge ``message_id`` once its runs are recorded."""

    message_id: str
    message: IngestMessage
    deliveries: int


def run_key(job_id: str, source_no: int) -> str:
    """The run key of a job's ``source_no``-th source: a redelivery asks for the same one."""
    return f"{job_id}:{source_no}"
