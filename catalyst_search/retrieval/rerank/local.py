"""The local tier: MiniLM similarity of the query and each candidate, no network, no key."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from catalyst_search.embed.dense import DenseEncoder

StoredVectors = Callable[[Sequence[str]], dict[str, list[float]]]


class LocalEmbeddingReranker:
    """What premium falls back to when hosted tiers fail.

    A candidate's text is what ingestion embedded, so its stored dense vector is reused when the
    index can hand it over (``stored``); only candidates without one are encoded here. That
    keeps the degraded path about as fast as economy instead of 30 encoder passes slower.
    """

    tier = "local"
    hosted = False

    def __init__(self, dense: DenseEncoder, stored: StoredVectors | None = None) -> None:
        self.dense = dense
        self.stored = stored

    def rerank(
        self, query: str, documents: Sequence[str], *, ids: Sequence[str] = ()
    ) -> list[tuple[int, float]]:
        found = self.stored(ids) if self.stored and ids else {}
        missing = [i for i, pid in enumerate(ids or [None] * len(documents)) if pid not in found]
        encoded = self.dense.encode([query] + [documents[i] for i in missing])
        vectors = np.zeros((len(documents), encoded.shape[1]), dtype=np.float32)
        for row, i in enumerate(missing, start=1):
            vectors[i] = encoded[row]
        for i, pid in enumerate(ids):
            if pid in found:
                vectors[i] = found[pid]
        scores = vectors @ encoded[0]
        order = np.argsort(-scores, kind="stable")
        return [(int(i), float(scores[i])) for i in order]
