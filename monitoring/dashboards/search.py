"""Search latency and quality signals, per stage, track and mode."""

from __future__ import annotations

from monitoring.dashboards.common import quantiles, ratio, sum_rate
from monitoring.panels import Dashboard, Panel, Row, q

SEARCH = 'route="/search"'

SEARCH_DASHBOARD = Dashboard(
    uid="catalyst-search",
    title="CatalystIndex / Search latency and quality",
    description="The search service: latency per stage, track and mode; result quality signals.",
    rows=(
        Row(
            "Traffic and errors",
            (
                Panel(
                    "Requests, by route and status",
                    (
                        q(
                            sum_rate("catalyst_http_requests_total", by="route, status"),
                            "{{route}} {{status}}",
                        ),
                    ),
                    bad="5xx on any route; 503 on /search means no index version is loaded.",
                    unit="reqps",
                ),
                Panel(
                    "5xx share of requests",
                    (
                        q(
                            ratio(
                                "catalyst_http_requests_total",
                                "catalyst_http_requests_total",
                                top='status=~"5.."',
                            ),
                            "5xx / all",
                        ),
                    ),
                    bad="above 1% (alert CatalystSearch5xxRate).",
                    unit="percentunit",
                ),
            ),
        ),
        Row(
            "Latency",
            (
                Panel(
                    "POST /search latency",
                    quantiles("catalyst_http_request_duration_seconds", SEARCH),
                    bad="p95 above 250 ms for 10 minutes (alert CatalystSearchLatencyHigh).",
                    unit="s",
                ),
                Panel(
                    "p95 per stage, track and mode",
                    (
                        q(
                            "histogram_quantile(0.95, "
                            + sum_rate(
                                "catalyst_search_stage_duration_seconds_bucket",
                                by="le, stage, track, mode",
                            )
                            + ")",
                            "{{stage}} {{track}}/{{mode}}",
                        ),
                    ),
                    bad="encode dominating (the encoder is saturated); rerank near the hosted "
                    "reranker's timeout (it is about to degrade).",
                    unit="s",
                ),
            ),
        ),
        Row(
            "Quality signals",
            (
                Panel(
                    "Searches, by track and mode",
                    (
                        q(
                            sum_rate("catalyst_search_results_count", by="track, mode"),
                            "{{track}}/{{mode}}",
                        ),
                    ),
                    bad="a sudden drop to zero with traffic on /search: searches are failing.",
                    unit="reqps",
                ),
                Panel(
                    "Zero-result share, by track and mode",
                    (
                        q(
                            ratio(
                                "catalyst_search_zero_results_total",
                                "catalyst_search_results_count",
                                by="track, mode",
                            ),
                            "{{track}}/{{mode}}",
                        ),
                    ),
                    bad="a rise after an ingest or a deploy: documents missing from the index, or "
                    "filters that no longer match the payload.",
                    unit="percentunit",
                ),
                Panel(
                    "Results per search",
                    (
                        q(
                            ratio(
                                "catalyst_search_results_sum",
                                "catalyst_search_results_count",
                                by="track, mode",
                            ),
                            "{{track}}/{{mode}}",
                        ),
                    ),
                    bad="falling well below the top_k clients ask for.",
                ),
                Panel(
                    "Index version age (since loaded)",
                    (q("time() - catalyst_search_index_loaded_timestamp_seconds", "{{instance}}"),),
                    bad="replicas disagreeing, or older than the last published version.",
                    unit="s",
                    kind="stat",
                ),
            ),
        ),
    ),
)
