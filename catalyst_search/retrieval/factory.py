"""Build the retriever and its rerank chain from settings (service start-up)."""

from __future__ import annotations

import logging

from catalyst_search.embed.dense import DenseEncoder
from catalyst_search.embed.sparse import SparseEncoder
from catalyst_search.index.factory import open_reader, recorded_encoder
from catalyst_search.metrics import SearchMetrics
from catalyst_search.retrieval.hybrid import RetrievalConfig, Retriever
from catalyst_search.retrieval.rerank.base import Reranker, RerankUnavailable
from catalyst_search.retrieval.rerank.chain import AuditLog, LogAudit, RerankChain
from catalyst_search.retrieval.rerank.hosted import CohereReranker, OpenAIEmbeddingReranker
from catalyst_search.retrieval.rerank.local import LocalEmbeddingReranker, StoredVectors
from catalyst_search.settings import Settings, SettingsError

log = logging.getLogger("catalyst_search")
KNOWN_TIERS = ("cohere", "openai", "local")


def build_chain(
    settings: Settings,
    dense: DenseEncoder,
    metrics: SearchMetrics,
    stored: StoredVectors | None = None,
) -> RerankChain:
    """The tiers named in ``CATALYST_RERANK_TIERS`` that are configured, in that order.

    A hosted tier whose credentials the provider rejects at start-up is left out and reported
    as the reason premium searches degrade; one that cannot be reached stays in (its circuit
    breaker handles outages).
    """
    names = [n.strip() for n in settings.rerank_tiers.split(",") if n.strip()]
    unknown = [n for n in names if n not in KNOWN_TIERS]
    if unknown:
        raise SettingsError(
            f"CATALYST_RERANK_TIERS: unknown tier(s) {', '.join(unknown)}; "
            f"choose from {', '.join(KNOWN_TIERS)}"
        )
    tiers: list[Reranker] = []
    unavailable: dict[str, str] = {}
    for name in names:
        if name == "cohere" and settings.cohere_api_key:
            cohere = CohereReranker(
                api_key=settings.cohere_api_key.get_secret_value(),
                base_url=settings.cohere_base_url,
                model=settings.cohere_model,
                timeout_s=settings.cohere_timeout_s,
            )
            try:
                cohere.check_credentials()
            except RerankUnavailable as exc:
                if exc.reason == "invalid_credentials":
                    log.error("Cohere rejected CATALYST_COHERE_API_KEY; premium will degrade")
                    unavailable["cohere"] = "cohere_invalid_credentials"
                    continue
                log.warning("could not check Cohere credentials at start-up: %s", exc)
            tiers.append(cohere)
        elif name == "openai" and settings.openai_api_key:
            tiers.append(
                OpenAIEmbeddingReranker(
                    api_key=settings.openai_api_key.get_secret_value(),
                    base_url=settings.openai_base_url,
                    model=settings.openai_embedding_model,
                    timeout_s=settings.openai_timeout_s,
                )
            )
        elif name == "local":
            tiers.append(LocalEmbeddingReranker(dense, stored))
    return RerankChain(
        tiers,
        audit=LogAudit() if settings.profile == "production" else AuditLog(settings.audit_log),
        metrics=metrics,
        breaker_threshold=settings.rerank_breaker_failures,
        breaker_reset_s=settings.rerank_breaker_reset_s,
        unavailable=unavailable,
    )


def retrieval_config(settings: Settings) -> RetrievalConfig:
    """How the settings say a search is run (the service's, and the boost evaluation's)."""
    return RetrievalConfig(
        prefetch_limit=settings.prefetch_limit,
        fusion=settings.fusion,
        rrf_k=settings.rrf_k,
        weights=settings.fusion_weights,
        hnsw_ef=settings.hnsw_ef,
        exact=settings.exact_search,
        rerank_candidates=settings.rerank_candidates,
        fusion_site=settings.fusion_site,
    )


def build_retriever(settings: Settings, metrics: SearchMetrics | None = None) -> Retriever:
    metrics = metrics or SearchMetrics()
    reader = open_reader(settings, processes=settings.index_processes)  # (the embedded index)
    dense = DenseEncoder.from_settings(settings)
    try:
        dense.check_index(recorded_encoder(settings, reader))  # before seconds of model loading
        dense.load().share_query_calls(
            max_batch=settings.query_batch_max, wait_ms=settings.query_batch_wait_ms
        )
        chain = build_chain(settings, dense, metrics, reader.dense_vectors)
    except Exception:  # a bad setting or model: the helper processes and batcher stop too
        dense.close()
        reader.close()
        raise
    return Retriever(
        reader, dense, SparseEncoder(), retrieval_config(settings), chain=chain, metrics=metrics
    )
