"""Prometheus metrics of the search service, in a registry owned by one app instance."""

from __future__ import annotations

import time
from typing import get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from catalyst_search.auth.limits import Action
from catalyst_search.auth.principal import AuthReason
from catalyst_search.options import Mode, Track

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class SearchMetrics:
    """Request, per-stage, result-count and degradation metrics (``GET /metrics``)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "catalyst_http_requests_total",
            "HTTP requests",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.request_latency = Histogram(
            "catalyst_http_request_duration_seconds",
            "HTTP request latency",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.stage_latency = Histogram(
            "catalyst_search_stage_duration_seconds",
            "Search latency per stage (encode, prefetch, fusion, rerank)",
            ["stage", "track", "mode"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.results = Histogram(
            "catalyst_search_results",
            "Results returned per search",
            ["track", "mode"],
            buckets=(0, 1, 3, 5, 10, 20, 50, 100),
            registry=self.registry,
        )
        self.zero_results = Counter(
            "catalyst_search_zero_results_total",
            "Searches that returned nothing",
            ["track", "mode"],
            registry=self.registry,
        )
        for track in get_args(Track):  # every (track, mode) series exists from the start, so
            for mode in get_args(Mode):  # a zero-result share reads 0, not "no data"
                self.results.labels(track=track, mode=mode)
                self.zero_results.labels(track=track, mode=mode)
        self.queue_depth = Gauge(
            "catalyst_ingest_queue_depth",
            "Ingest requests waiting for a run",
            registry=self.registry,
        )
        self.queue_oldest_age = Gauge(
            "catalyst_ingest_queue_oldest_age_seconds",
            "Age of the oldest queued ingest request",
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "catalyst_ingest_outbox_depth",
            "Ingest requests kept locally because the queue was unreachable",
            registry=self.registry,
        )
        self.queue_up = Gauge(
            "catalyst_ingest_queue_up",
            "1 when the ingest queue answered this scrape, 0 when it could not be reached",
            registry=self.registry,
        )
        self.heartbeat_age = Gauge(
            "catalyst_ingest_dispatch_heartbeat_age_seconds",
            "Seconds since the Dagster daemon's ingest_requests sensor last ticked (+Inf: never)",
            registry=self.registry,
        )
        self.index_loaded = Gauge(
            "catalyst_search_index_loaded_timestamp_seconds",
            "When this replica started serving its current index version",
            registry=self.registry,
        )
        self.index_info = Gauge(
            "catalyst_search_index_info",
            "The index version this replica serves (value 1)",
            ["version"],
            registry=self.registry,
        )
        self._served: str | None = None
        self.outages = Counter(
            "catalyst_ingest_dispatch_outages",
            "Ingest requests that found the queue unreachable",
            registry=self.registry,
        )
        self.degradations = Counter(
            "catalyst_search_degradations_total",
            "Searches served below the requested quality, by reason",
            ["reason", "requested_tier", "tier"],
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "catalyst_auth_failures",
            "Requests refused for their credentials (401), by reason",
            ["reason"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "catalyst_rate_limited",
            "Requests refused by a per-tenant rate limit (429), by action",
            ["action"],
            registry=self.registry,
        )
        # known label values exist from the start at 0, so the first refusal is an increase
        for reason in get_args(AuthReason):
            self.auth_failures.labels(reason=reason)
        for action in get_args(Action):
            self.rate_limited.labels(action=action)
        self.search_timeouts = Counter(
            "catalyst_search_timeouts",
            "Searches that ran past CATALYST_SEARCH_TIMEOUT_S (504)",
            registry=self.registry,
        )
        self.searches_shed = Counter(
            "catalyst_search_shed",
            "Searches refused at once because CATALYST_SEARCH_CONCURRENCY were in flight (503)",
            registry=self.registry,
        )
        self.search_log_dropped = Counter(
            "catalyst_search_log_dropped",
            "Search records not logged: the writer fell behind or the store was down",
            registry=self.registry,
        )
        self.feedback = Counter(
            "catalyst_feedback",
            "Feedback accepted, by kind and rating (repeats are not counted)",
            ["kind", "rating"],
            registry=self.registry,
        )

    def serving(self, version: str | None) -> None:
        """Note the index version served now; a new one resets the loaded timestamp."""
        if version == self._served:
            return
        if self._served is not None:
            self.index_info.remove(self._served)
        self._served = version
        if version is not None:
            self.index_info.labels(version=version).set(1)
            self.index_loaded.set(time.time())
