"""How the embedded index is read and written: helper processes, Qdrant Edge's search pool,
new versions, the writer's lock (docs/performance.md says what was measured)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class IndexFields(BaseSettings):
    index_refresh_s: float = Field(
        0.5, ge=0, description="How often readers look for a new version."
    )
    index_processes: int = Field(
        1,
        ge=0,
        le=16,
        description="Helper processes the search service queries the embedded index in (0: "
        "its own process). Qdrant Edge holds the GIL while it searches (docs/performance.md).",
    )
    index_search_threads: int = Field(
        1,
        ge=1,
        le=64,
        description="Threads of the Qdrant Edge search pool of each reader of the embedded "
        "index and of its writer, which searches (and loads) a shard's segments side by side. "
        "One: on 2 cores, 4 to 12% more searches a second at concurrency 8 than Qdrant Edge's "
        "own count of eight, in three side-by-side runs (docs/performance.md); helper "
        "processes (CATALYST_INDEX_PROCESSES) are how reads use more cores.",
    )
    writer_lock_timeout_s: float = Field(60.0, ge=0)
    versions_kept: int = Field(2, ge=1)
