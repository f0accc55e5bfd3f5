"""Sparse encoder: BM25 term weights from Qdrant's own tokenizer (``qdrant_edge.Bm25``).

Documents get term-frequency weights saturated with ``k``, ``b`` and ``avg_len``; queries get
weight 1 per term; the collection's IDF modifier supplies the inverse document frequency, so
both backends score alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import qdrant_edge as qe

from catalyst_search.index.schema import SparseVec

DEFAULT_AVG_LEN = 256.0
_WORD = re.compile(r"\w+")


def estimate_avg_len(texts: Iterable[str]) -> float:
    """Mean word count of ``texts``: the BM25 ``avg_len`` to use for a corpus like them."""
    total = count = 0
    for text in texts:
        total += len(_WORD.findall(text))
        count += 1
    return max(1.0, round(total / count, 1)) if count else DEFAULT_AVG_LEN


class SparseEncoder:
    """English BM25 with stemming and stopwords, as Qdrant's server-side BM25."""

    def __init__(self, *, avg_len: float = DEFAULT_AVG_LEN, k: float = 1.2, b: float = 0.75):
        self.avg_len, self.k, self.b = avg_len, k, b
        self._bm25 = qe.Bm25(qe.Bm25Config(k=k, b=b, avg_len=avg_len, language="english"))

    @property
    def config(self) -> dict[str, float | str]:
        return {"model": "qdrant-bm25-english", "k": self.k, "b": self.b, "avg_len": self.avg_len}

    def encode_document(self, text: str) -> SparseVec:
        vec = self._bm25.embed_document(text)
        return SparseVec(indices=list(vec.indices), values=[float(v) for v in vec.values])

    def encode_documents(self, texts: Iterable[str]) -> list[SparseVec]:
        return [self.encode_document(t) for t in texts]

    def encode_query(self, text: str) -> SparseVec:
        vec = self._bm25.embed_query(text)
        return SparseVec(indices=list(vec.indices), values=[float(v) for v in vec.values])
