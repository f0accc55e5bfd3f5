"""Search: encode the query, scope it to tenant and track, fuse, rerank in premium, explain."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

from catalyst_search.embed.dense import DenseEncoder
from catalyst_search.embed.sparse import SparseEncoder
from catalyst_search.feedback.boosts import BOOST_WINDOW, BoostSource, boosted
from catalyst_search.index.contract import HybridQuery, IndexReader
from catalyst_search.index.filters import FilterSpec, Match, tenant_filter
from catalyst_search.index.schema import Hit, SparseVec
from catalyst_search.metrics import SearchMetrics
from catalyst_search.options import Fusion, FusionSite, Mode, Retrieval, Track
from catalyst_search.retrieval.debug import debug_bundle
from catalyst_search.retrieval.rerank.chain import FUSED, RerankChain
from catalyst_search.retrieval.results import RankedHit, RetrievalResult, collapse_headings

log = logging.getLogger("catalyst_search.retrieval")


@dataclass(frozen=True)
class RetrievalConfig:
    prefetch_limit: int = 50
    fusion: Fusion = "dbsf"
    rrf_k: int = 2
    weights: tuple[float, ...] | None = None
    hnsw_ef: int | None = 256
    exact: bool = False
    rerank_candidates: int = 30
    fusion_site: FusionSite = "client"


def _track_filter(track: Track) -> tuple[Match, ...]:
    return () if track == "hybrid" else (Match("track", (track,)),)


class Retriever:
    """Runs one search against an ``IndexReader`` with the shared encoders."""

    def __init__(
        self,
        reader: IndexReader,
        dense: DenseEncoder,
        sparse: SparseEncoder,
        config: RetrievalConfig | None = None,
        *,
        chain: RerankChain | None = None,
        metrics: SearchMetrics | None = None,
        boosts: BoostSource | None = None,
    ) -> None:
        self.reader = reader
        self.dense = dense
        self.sparse = sparse
        self.config = config or RetrievalConfig()
        self.chain = chain
        self.metrics = metrics or SearchMetrics()
        self.boosts = boosts  # the tenants' live feedback boosts, applied after fusion

    def _encode(
        self, query: str, retrieval: Retrieval, timings: dict[str, float], reasons: list[str]
    ) -> tuple[list[float] | None, SparseVec | None]:
        started = time.perf_counter()
        dense_vec: list[float] | None = None
        sparse_vec: SparseVec | None = None
        if retrieval in ("hybrid", "dense"):
            try:
                dense_vec = self.dense.encode_query(query)
            except Exception as exc:  # degrade to sparse-only rather than fail the search
                log.warning("dense encoder unavailable, serving sparse only: %s", exc)
                reasons.append("dense_encoder_unavailable")
        if retrieval in ("hybrid", "sparse") or (retrieval == "dense" and dense_vec is None):
            sparse_vec = self.sparse.encode_query(query)
            if not sparse_vec.indices:
                sparse_vec = None  # only stopwords: nothing for BM25 to match
        timings["encode"] = _ms_since(started)
        return dense_vec, sparse_vec

    def search(
        self,
        *,
        tenant_id: str,
        query: str,
        top_k: int = 10,
        filters: FilterSpec | None = None,
        retrieval: Retrieval = "hybrid",
        mode: Mode = "economy",
        track: Track = "text",
        debug: bool = False,
        query_id: str = "",
    ) -> RetrievalResult:
        timings: dict[str, float] = {}
        reasons: list[str] = []
        started = time.perf_counter()
        dense_vec, sparse_vec = self._encode(query, retrieval, timings, reasons)
        cfg = self.config
        live = self.boosts.for_tenant(tenant_id) if self.boosts else None
        economy = max(top_k, BOOST_WINDOW) if live else top_k  # what economy fetches
        fetch = max(economy, cfg.rerank_candidates) if mode == "premium" else economy
        hybrid_query = HybridQuery(
            dense=dense_vec,
            sparse=sparse_vec,
            filter=tenant_filter(tenant_id, filters).and_(*_track_filter(track)),
            limit=fetch,
            # each leg's candidates as economy's: DBSF normalizes a leg's scores over them, so
            # more of them would give premium another fused order to start from (0.002 lower
            # nDCG@10 on the ICD dev set before any reranking)
            prefetch_limit=max(cfg.prefetch_limit, 2 * economy, fetch),
            fusion=cfg.fusion,
            rrf_k=cfg.rrf_k,
            weights=cfg.weights,
            hnsw_ef=cfg.hnsw_ef,
            exact=cfg.exact,
            fusion_site=cfg.fusion_site,
        )
        if hybrid_query.engine_fused:  # the engine ranks a heading and its first chunk apart,
            hybrid_query = replace(hybrid_query, limit=2 * fetch)  # and they collapse into one
        hits: list[Hit] = []
        if dense_vec is not None or sparse_vec is not None:
            hits = collapse_headings(self.reader.query(hybrid_query, timings), fetch)
        ranked = [RankedHit(hit, hit.score) for hit in hits]
        if live is not None:
            ranked = live.apply(ranked, query)
        result = RetrievalResult(
            hits=ranked, index_version=self.reader.version, mode=mode, track=track
        )
        result.boost_version = live.version if live else None
        if mode == "premium" and ranked:
            self._rerank(result, query, tenant_id, query_id, timings)
        elif mode == "premium":
            result.rerank_tier = self.chain.requested_tier if self.chain else FUSED
        result.hits = result.hits[:top_k]
        if reasons:
            result.degraded = True
            result.degradation_reason = ",".join(
                reasons + ([result.degradation_reason] if result.degradation_reason else [])
            )
            for reason in reasons:
                self.metrics.degradations.labels(
                    reason=reason, requested_tier="dense", tier="sparse"
                ).inc()
        timings["total"] = _ms_since(started)
        result.timings_ms = timings
        self._observe(result)
        if debug:
            result.debug = debug_bundle(result, hybrid_query)
        return result

    def close(self) -> None:
        """Stop the encoder's batcher and close the reader (a retriever the service built)."""
        try:
            self.dense.close()
        finally:
            self.reader.close()

    def _rerank(
        self,
        result: RetrievalResult,
        query: str,
        tenant_id: str,
        query_id: str,
        timings: dict[str, float],
    ) -> None:
        started = time.perf_counter()
        if self.chain is None:
            result.rerank_tier, result.degraded = FUSED, True
            result.degradation_reason = "no_rerank_chain"
            return
        texts = [_rerank_text(r.hit) for r in result.hits]
        outcome = self.chain.rerank(
            query,
            texts,
            tenant_id=tenant_id,
            query_id=query_id,
            ids=[r.hit.id for r in result.hits],
        )
        # A hosted reranker's scores replace the fused ones: the live boosts scale them as they
        # scaled those. (The local tier blends in the fused order, boosted already.)
        hosted = outcome.tier in self.chain.breakers
        reordered = []
        for index, score in outcome.order:
            ranked = result.hits[index]
            if score is not None:
                ranked.rerank_score = score
                ranked.score = score
                if hosted and ranked.boost != 1.0:
                    ranked.score = boosted(score, ranked.boost)
            reordered.append(ranked)
        if hosted:
            reordered.sort(key=lambda r: -r.score)  # stable: unboosted ties keep its order
        result.hits = reordered
        result.rerank_tier = outcome.tier
        result.degraded = outcome.degraded
        result.degradation_reason = outcome.reason
        timings["rerank"] = _ms_since(started)

    def _observe(self, result: RetrievalResult) -> None:
        labels = {"track": result.track, "mode": result.mode}
        for stage in ("encode", "prefetch", "fusion", "rerank"):
            if stage in result.timings_ms:
                self.metrics.stage_latency.labels(stage=stage, **labels).observe(
                    result.timings_ms[stage] / 1000
                )
        self.metrics.results.labels(**labels).observe(len(result.hits))
        if not result.hits:
            self.metrics.zero_results.labels(**labels).inc()


def _rerank_text(hit: Hit) -> str:
    title, text = str(hit.payload.get("title") or ""), str(hit.payload.get("text") or "")
    return f"{title}\n{text}" if title and not text.startswith(title) else text


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)
