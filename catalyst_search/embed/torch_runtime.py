"""MiniLM through sentence-transformers and torch (``CATALYST_ENCODER_RUNTIME=torch``)."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from catalyst_search.index.schema import DENSE_SIZE

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


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


class TorchRuntime:
    def __init__(self, model_dir: Path, *, batch_size: int = 64, device: str = "cpu") -> None:
        self.batch_size = batch_size
        self.model = _load_model(str(model_dir), device)
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:  # one torch forward at a time; torch itself uses every core
            vectors = self.model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)
