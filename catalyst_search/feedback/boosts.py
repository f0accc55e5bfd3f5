"""Live boosts in search: the tenant's published version, applied after fusion.

A version (computed offline by the code location) holds per-document multipliers and per
(query term, document) multipliers, each with its evidence count. A hit's multiplier is the
document's times the geometric mean of its query terms', held within the version's caps; it
scales the fused score, and the candidates are ordered again. Versions are read through a
cache that looks for a new live version every few seconds, so a search costs no store
round-trip.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any, Protocol

from catalyst_search.feedback.records import normalized, query_terms
from catalyst_search.feedback.store import FeedbackStore
from catalyst_search.retrieval.results import RankedHit

log = logging.getLogger("catalyst_search.feedback")
#: candidates fetched when boosts are live, so a boosted document below top_k can rise
BOOST_WINDOW = 30
TERM_SEPARATOR = "\t"


class LiveBoosts:
    def __init__(self, version: str, blob: dict[str, Any]) -> None:
        self.version = version
        self.documents: dict[str, tuple[float, int]] = {
            doc: (float(m), int(n)) for doc, (m, n) in blob.get("documents", {}).items()
        }
        self.terms = _pairs(blob.get("terms", {}))
        self.queries = _pairs(blob.get("queries", {}))
        low, high = blob.get("caps", (0.5, 2.0))
        self.low, self.high = float(low), float(high)

    def for_document(
        self, document_id: str, terms: list[str], asked: str = ""
    ) -> tuple[float, list[dict]]:
        """The multiplier of a document for a query, and what it is made of: the document's
        own, times the geometric mean of its matching terms' (so a long query does not compound
        them), times the exact query's, held within the caps."""
        multiplier, parts = 1.0, []
        if (asked, document_id) in self.queries:
            m, n = self.queries[(asked, document_id)]
            multiplier *= m
            parts.append({"kind": "query", "multiplier": m, "evidence": n})
        if document_id in self.documents:
            m, n = self.documents[document_id]
            multiplier *= m
            parts.append({"kind": "document", "multiplier": m, "evidence": n})
        matched = []
        for term in terms:
            if (term, document_id) in self.terms:
                m, n = self.terms[(term, document_id)]
                matched.append(m)
                parts.append({"kind": "term", "term": term, "multiplier": m, "evidence": n})
        if matched:
            multiplier *= math.prod(matched) ** (1 / len(matched))
        return min(max(multiplier, self.low), self.high), parts

    def apply(self, hits: list[RankedHit], query: str) -> list[RankedHit]:
        """``hits`` with their scores scaled, ordered again (ties keep the fused order)."""
        terms, asked = query_terms(query), normalized(query)
        for hit in hits:
            document_id = str(hit.hit.payload.get("document_id", ""))
            multiplier, parts = self.for_document(document_id, terms, asked)
            if parts:
                hit.score = boosted(hit.score, multiplier)
                hit.boost, hit.boosts = multiplier, parts
        return sorted(hits, key=lambda h: -h.score)


def boosted(score: float, multiplier: float) -> float:
    """``score`` scaled by a boost's ``multiplier``: a negative score (one leg's raw score)
    moves the same way when divided."""
    return score * multiplier if score >= 0 else score / multiplier


def _pairs(raw: dict[str, list]) -> dict[tuple[str, str], tuple[float, int]]:
    """``{"key<TAB>document": [multiplier, evidence]}`` -> {(key, document): (m, n)}."""
    pairs = {}
    for joined, (m, n) in raw.items():
        key, _, doc = joined.partition(TERM_SEPARATOR)
        pairs[(key, doc)] = (float(m), int(n))
    return pairs


def strongest_per_document(blob: dict[str, Any]) -> dict[str, tuple[float, int]]:
    """Per document, its boost furthest from 1 of any kind (document, query, term)."""
    found: dict[str, tuple[float, int]] = {}
    entries = [(doc, v) for doc, v in blob.get("documents", {}).items()]
    for kind in ("queries", "terms"):
        entries += [(key.rpartition(TERM_SEPARATOR)[2], v) for key, v in blob.get(kind, {}).items()]
    for doc, (m, n) in entries:
        if doc not in found or abs(math.log(m)) > abs(math.log(found[doc][0])):
            found[doc] = (float(m), int(n))
    return found


class BoostSource(Protocol):
    def for_tenant(self, tenant_id: str) -> LiveBoosts | None: ...


class FixedBoosts:
    """The same boosts (or none) for every tenant: a version evaluated before it goes live."""

    def __init__(self, live: LiveBoosts | None) -> None:
        self.live = live

    def for_tenant(self, tenant_id: str) -> LiveBoosts | None:
        return self.live


class BoostCache:
    """Each tenant's live version, looked up again at most every ``refresh_s`` seconds."""

    def __init__(self, store: FeedbackStore, *, refresh_s: float = 5.0) -> None:
        self.store = store
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, LiveBoosts | None]] = {}

    def for_tenant(self, tenant_id: str) -> LiveBoosts | None:
        """The tenant's live version. When the store cannot be read, the version held (or
        none) goes on serving and the store is tried again after ``refresh_s``: a feedback
        store outage never fails a search."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(tenant_id)
            if cached and now - cached[0] < self.refresh_s:
                return cached[1]
        current = cached[1] if cached else None
        try:
            version = self.store.live_version(tenant_id)
            if version is None:
                current = None
            elif current is None or current.version != version:
                found = self.store.live_boosts(tenant_id)
                current = LiveBoosts(*found) if found else None
        except Exception as exc:
            log.warning("live boosts of %s unreadable (%s); serving %s", tenant_id, exc,
                        current.version if current else "none")  # fmt: skip
        with self._lock:
            self._cache[tenant_id] = (now, current)
        return current
