"""The local tier: MiniLM similarity of the query and each candidate, blended with the fused
order; no network, no key.

MiniLM is also the dense leg of fusion, so its similarity alone is no better evidence than the
fused order: reordering by it dropped economy's nDCG@10 on the ICD dev set from 0.3882 to
0.3545 (premium was worse than economy). Blended by rank with the fused order (weight
``SIMILARITY_WEIGHT``, reciprocal ranks with k=2, the fused order's rank being the candidate's
position), it scored 0.3893: premium's local tier never ranks below economy. Weights 0.1 to
0.25 all gave 0.3891-0.3893 (bench/quality.py, all 2,669 dev queries).

With heading vectors (2026-12-06) the blend gains less: 0.4060 against economy's 0.4054, and
on each half of the dev set 0.3972 against 0.3969 and 0.4148 against 0.4139 (weight 0 gives
economy's figures exactly: premium reranks economy's fused order, ``Retriever.search``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from catalyst_search.embed.dense import DenseEncoder

StoredVectors = Callable[[Sequence[str]], dict[str, list[float]]]
#: the similarity's share of the blended rank score; the fused order has the rest
SIMILARITY_WEIGHT = 0.2
RANK_K = 2


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
        similarity = vectors @ encoded[0]
        by_similarity = np.argsort(-similarity, kind="stable")
        blended = np.zeros(len(documents))
        for rank, i in enumerate(by_similarity):  # candidates arrive in fused order: i is its rank
            blended[i] = SIMILARITY_WEIGHT / (RANK_K + rank) + (1 - SIMILARITY_WEIGHT) / (
                RANK_K + i
            )
        order = np.argsort(-blended, kind="stable")
        return [(int(i), float(blended[i])) for i in order]
