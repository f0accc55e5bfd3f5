"""Resources: one per real client, each opened once per step process and closed after it
(the Redis clients behind ``CATALYST_QUEUE``; the SQLite stores open a connection per call).

Every value comes from the one ``Settings`` object (``CATALYST_*``, parsed once per process), so
the runs and the search service agree on where the index, the stores and the queue live. URLs
and secrets a deployment sets are bound with ``dg.EnvVar``: Dagster reads them when a run
starts and shows the variable's name, never its value, in the UI.
"""

from __future__ import annotations

import os

import dagster as dg
from dagster_aws.s3 import S3Resource

from catalyst_orchestration.defs.resources.acquisition import AcquisitionResource
from catalyst_orchestration.defs.resources.common import _env
from catalyst_orchestration.defs.resources.handover import HandoverIOManager
from catalyst_orchestration.defs.resources.index import EncodersResource, QdrantIndexResource
from catalyst_orchestration.defs.resources.monitoring import PushgatewayResource
from catalyst_orchestration.defs.resources.stores import (
    ArtifactStoreResource,
    FeedbackStoreResource,
    IngestQueueResource,
    JobStoreResource,
    StateStoreResource,
)

__all__ = [
    "AcquisitionResource",
    "ArtifactStoreResource",
    "EncodersResource",
    "FeedbackStoreResource",
    "HandoverIOManager",
    "IngestQueueResource",
    "JobStoreResource",
    "PushgatewayResource",
    "QdrantIndexResource",
    "S3Resource",
    "StateStoreResource",
    "ingest_resources",
]

SETTLE = "CATALYST_PUSHGATEWAY_SETTLE_S"


def ingest_resources() -> dict[str, dg.ConfigurableResource | dg.ConfigurableIOManagerFactory]:
    """The resources of the code location, by the names assets and sensors ask for."""
    queue_url = _env("CATALYST_QUEUE")
    s3 = S3Resource()  # boto3's defaults: the AWS_* variables, AWS_ENDPOINT_URL among them
    return {
        "state": StateStoreResource(),
        "s3": s3,
        "artifacts": ArtifactStoreResource(s3=s3),
        "acquisition": AcquisitionResource(s3=s3),
        "queue": IngestQueueResource(queue_url=queue_url),
        "jobs": JobStoreResource(queue_url=queue_url),
        "feedback": FeedbackStoreResource(queue_url=queue_url),
        "qdrant": QdrantIndexResource(
            qdrant_url=_env("CATALYST_QDRANT_URL"),
            qdrant_api_key=_env("CATALYST_QDRANT_API_KEY"),
        ),
        "encoders": EncodersResource(),
        "io_manager": HandoverIOManager(s3=s3),  # step outputs, handed over in memory too
        "pushgateway": PushgatewayResource(
            url=_env("CATALYST_PUSHGATEWAY_URL"),
            settle_s=dg.EnvVar.int(SETTLE) if os.environ.get(SETTLE) else 60,  # empty: unset
        ),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=ingest_resources())
