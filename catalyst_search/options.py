"""The named choices of a search and of a deployment, defined once for every module.

The API's request models, the settings, the retriever, the index contract and the CLI's
argument choices all read these, so a new mode or track is added in one place.
"""

from __future__ import annotations

from typing import Literal, get_args

#: economy: fused hybrid; premium: fused hybrid, then a reranker.
Mode = Literal["economy", "premium"]
#: text chunks, vision (text read from images), or both.
Track = Literal["text", "vision", "hybrid"]
#: Which legs a search runs.
Retrieval = Literal["hybrid", "dense", "sparse"]
#: How the dense and sparse legs fuse.
Fusion = Literal["rrf", "dbsf"]
#: client: deterministic fusion here; engine: Qdrant's own prefetch + fusion.
FusionSite = Literal["client", "engine"]
#: embedded: Qdrant Edge in-process; server: a Qdrant server through qdrant-client.
IndexBackend = Literal["embedded", "server"]
#: async: queue a job for the Dagster daemon; sync: run the ingest in-process.
IngestMode = Literal["async", "sync"]
#: The credentials the service accepts (``CATALYST_AUTH``, comma-separated, or ``disabled``).
AuthMethod = Literal["jwt", "apikey"]
#: What a credential may do. ``admin`` manages keys and acts across tenants; it implies the rest.
#: ``webhooks`` reads the tenant's webhook signing secret (what its receivers verify with).
Role = Literal["search", "ingest", "feedback", "debug", "webhooks", "admin"]
#: A tenant id, whole (``auth.principal.is_tenant_id``; pydantic's ``pattern`` matches whole).
TENANT_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"


def choices(option: object) -> list[str]:
    """The values of one of these literals, e.g. for ``argparse`` ``choices``."""
    return [str(value) for value in get_args(option)]
