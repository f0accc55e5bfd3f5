"""Premium reranking: which tier served, why it degraded, what it cost."""

from __future__ import annotations

from monitoring.dashboards.common import quantiles, ratio, sum_rate
from monitoring.panels import Dashboard, Panel, Row, q

PREMIUM = 'mode="premium"'
RERANKED = 'requested_tier!="dense"'  # the rerank chain's; dense->sparse is any mode's fallback

RERANK = Dashboard(
    uid="catalyst-rerank",
    title="CatalystIndex / Reranker degradation",
    description="Premium searches fall back from the hosted reranker to the local tier, then to "
    "fused order; every fallback is counted with its reason.",
    rows=(
        Row(
            "Degradation",
            (
                Panel(
                    "Degradations, by reason",
                    (
                        q(
                            sum_rate(
                                "catalyst_search_degradations_total", by="reason", where=RERANKED
                            ),
                            "{{reason}}",
                        ),
                    ),
                    bad="cohere_timeout, cohere_unreachable, cohere_error or *_circuit_open: the "
                    "hosted reranker is failing; cohere_not_configured: premium is on without "
                    "a hosted key.",
                    unit="reqps",
                ),
                Panel(
                    "Degraded share of premium searches",
                    (
                        q(
                            ratio(
                                "catalyst_search_degradations_total",
                                "catalyst_search_results_count",
                                top=RERANKED,
                                bottom=PREMIUM,
                            ),
                            "degraded / premium",
                        ),
                    ),
                    bad="above 10% for 15 minutes (alert CatalystSearchDegradationRate).",
                    unit="percentunit",
                ),
                Panel(
                    "Tier served instead of the one requested",
                    (
                        q(
                            sum_rate(
                                "catalyst_search_degradations_total",
                                by="requested_tier, tier",
                                where=RERANKED,
                            ),
                            "{{requested_tier}} -> {{tier}}",
                        ),
                    ),
                    bad="-> fused: neither the hosted nor the local reranker ran, so premium "
                    "answered in economy order.",
                    unit="reqps",
                ),
                Panel(
                    "Rerank stage latency",
                    (
                        q(
                            quantiles("catalyst_search_stage_duration_seconds", 'stage="rerank"')[
                                1
                            ].expr,
                            "p95",
                        ),
                    ),
                    bad="close to CATALYST_COHERE_TIMEOUT_S (2 s): the next slow answer degrades.",
                    unit="s",
                ),
            ),
        ),
    ),
)
