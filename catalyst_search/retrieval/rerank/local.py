"""The local tier: MiniLM embeddings of the query and of each candidate's full text."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from catalyst_search.embed.dense import DenseEncoder


class LocalEmbeddingReranker:
    """No network, no key: what premium falls back to when hosted tiers fail."""

    tier = "local"
    hosted = False

    def __init__(self, dense: DenseEncoder) -> None:
        self.dense = dense

    def rerank(self, query: str, documents: Sequence[str]) -> list[tuple[int, float]]:
        vectors = self.dense.encode([query, *documents])
        scores = vectors[1:] @ vectors[0]
        order = np.argsort(-scores, kind="stable")
        return [(int(i), float(scores[i])) for i in order]
