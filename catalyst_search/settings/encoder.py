"""How the dense encoder runs: its runtime, threads, and how concurrent queries share it.

Measured on a 2-core machine (docs/benchmarks.md): ONNX Runtime encodes one query in less than
half of torch's time with the same vectors, and one encoder call for a batch of queries costs
far less than one call per query, so concurrent searches share calls (the query batcher).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field
from pydantic_settings import BaseSettings

EncoderRuntime = Literal["onnx", "torch"]
EncoderPrecision = Literal["fp32", "int8"]


class EncoderFields(BaseSettings):
    encoder_runtime: EncoderRuntime = Field(
        "onnx",
        description="onnx: MiniLM exported to ONNX (fp32, parity-checked against torch at "
        "export, cached under CATALYST_HOME/models); torch: sentence-transformers. Both give "
        "the same vectors, so an index written by one is searched by the other.",
    )
    encoder_precision: EncoderPrecision = Field(
        "fp32",
        description="fp32, or int8 (ONNX Runtime only): the weights quantized per channel, "
        "encoding about 1.7x as fast with the same nDCG on the ICD dev set "
        "(docs/performance.md). The index records it: ingest and search must use the same.",
    )
    encoder_threads: int = Field(
        0,
        ge=0,
        le=256,
        description="Threads per encoder call (0: every core for a query call; at ingest, on "
        "up to 4 cores, one call per core at once on one thread each). n: every call on n "
        "threads, one at a time.",
    )
    query_batch_max: int = Field(
        16, ge=1, le=256, description="Queries encoded in one call at most (the query batcher)."
    )
    query_batch_wait_ms: float = Field(
        1.0,
        ge=0,
        le=50,
        description="How long the query batcher waits for more queries when its last call was "
        "shared (searches arriving together); while they come one at a time, never.",
    )
    model_cache: Path | None = Field(
        None,
        description="Where the ONNX export is cached (default CATALYST_HOME/models; in production "
        "the user's cache directory); keyed by the weights' hash, so hosts and runs may share it.",
    )

    if TYPE_CHECKING:
        from catalyst_search.settings.profile import Profile

        home: Path
        profile: Profile

    @property
    def models_dir(self) -> Path:
        """The export cache. In production CATALYST_HOME keeps nothing, and the export is a
        cache anyone can rebuild, so it goes to the user's cache directory (XDG_CACHE_HOME)."""
        if self.model_cache:
            return self.model_cache
        if self.profile == "production":
            cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
            return Path(cache) / "catalyst-index" / "models"
        return self.home / "models"
