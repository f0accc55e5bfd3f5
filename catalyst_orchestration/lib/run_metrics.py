"""Ingestion counters that add up across runs, for a Prometheus Pushgateway.

Prometheus recommends the Pushgateway only for service-level batch jobs, pushed under a grouping
key that does not change from run to run: the gateway never forgets a group, so a group per run
or per partition piles up series, and gauges of "the last run" cannot be summed or rated. Here
one writer (the ``ingest_run_metrics`` sensor in the Dagster daemon) reads every finished run,
failed and cancelled ones included, adds its figures to cumulative totals kept in the sensor's
cursor, and replaces one group (``job="catalyst_ingest"``) with those totals on every tick.
Counters therefore only grow, ``rate()`` and ``increase()`` work across runs, and a restarted
gateway gets the whole history back at the next tick.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from catalyst_orchestration.lib.run_metric_names import (  # noqa: F401  (re-exported)
    COUNTERS,
    DURATION,
    DURATION_BUCKETS,
    JOB,
    LAST_PUBLISH,
    LAST_SUCCESS,
    METRIC_NAMES,
    ZERO_SERIES,
)


@dataclass
class RunFigures:
    """What one finished ingest run did, as its events tell it."""

    run_id: str
    tenant_id: str
    status: str  # success | failure | canceled | retried (failed, and Dagster retries it)
    duration_s: float
    finished_at: float
    run_retry: bool = False
    step_retries: dict[str, int] = field(default_factory=dict)
    documents: dict[str, int] = field(default_factory=dict)  # outcome -> count
    chunks: dict[str, int] = field(default_factory=dict)  # written | deleted -> count
    failures: dict[tuple[str, str], int] = field(default_factory=dict)  # (class, error) -> n
    index_version: str | None = None
    #: remote acquisition: kind, and counts of fetches, bytes, retries by reason, failures by class
    fetch_kind: str | None = None
    fetch: dict[str, Any] = field(default_factory=dict)


def _key(labels: tuple[str, ...]) -> str:
    return json.dumps(list(labels))


@dataclass
class IngestTotals:
    """Cumulative counters over every run counted so far; JSON for the sensor cursor.

    A counter series that first appears at N is no increase to Prometheus (``increase()`` needs
    a sample before the step), so a tenant's first run or a new error class would be invisible.
    A new series is therefore pushed at 0 first and its counts wait in ``pending``. Its clock
    starts at the first push that reached the gateway (``mark_pushed``), and ``settle`` adds its
    counts once it is ``settle_s`` old: at least two scrape intervals.
    """

    counters: dict[str, dict[str, float]] = field(default_factory=dict)
    pending: dict[str, dict[str, float]] = field(default_factory=dict)
    born: dict[str, float | None] = field(default_factory=dict)  # "name key" -> first pushed
    last_success: dict[str, float] = field(default_factory=dict)  # tenant -> timestamp
    last_publish: float | None = None
    index_version: str | None = None
    runs_counted: int = 0

    def _add(self, name: str, labels: tuple[str, ...], amount: float) -> None:
        key, series = _key(labels), self.counters.setdefault(name, {})
        if key not in series:
            series[key] = 0.0
            self.born[f"{name} {key}"] = None  # not on the gateway yet
        if amount:
            waiting = self.pending.setdefault(name, {})
            waiting[key] = waiting.get(key, 0.0) + amount

    def mark_pushed(self, *, now: float) -> None:
        """The totals reached the gateway: every new series' settle clock starts now."""
        for key, pushed in self.born.items():
            if pushed is None:
                self.born[key] = now

    def settle(self, *, now: float, settle_s: float) -> None:
        """Add the pending counts of every series pushed at least ``settle_s`` ago (of every
        series when ``settle_s`` is 0: no zero first)."""
        for name, waiting in self.pending.items():
            for key in list(waiting):
                pushed = self.born[f"{name} {key}"]
                if settle_s <= 0 or (pushed is not None and now - pushed >= settle_s):
                    self.counters[name][key] += waiting.pop(key)
        self.pending = {name: waiting for name, waiting in self.pending.items() if waiting}

    def add(self, run: RunFigures) -> None:
        tenant = run.tenant_id
        for name, label_sets in ZERO_SERIES.items():
            for labels in label_sets:
                self._add(name, (tenant, *labels), 0.0)
        for status in ("success", "failure", "canceled", "retried"):
            mine = status == run.status
            for le in (*DURATION_BUCKETS, "+Inf"):
                inside = le == "+Inf" or run.duration_s <= float(le)
                self._add(f"{DURATION}_bucket", (status, str(le)), float(inside and mine))
            self._add(f"{DURATION}_count", (status,), float(mine))
            self._add(f"{DURATION}_sum", (status,), run.duration_s if mine else 0.0)
        self._add("catalyst_ingest_runs", (tenant, run.status), 1.0)
        self._add("catalyst_ingest_run_retries", (tenant,), float(run.run_retry))
        for step, count in run.step_retries.items():
            self._add("catalyst_ingest_step_retries", (tenant, step), count)
        for outcome, count in run.documents.items():
            self._add("catalyst_ingest_documents", (tenant, outcome), count)
        for action, count in run.chunks.items():
            self._add("catalyst_ingest_chunks", (tenant, action), count)
        for (failure_class, error), count in run.failures.items():
            labels = (tenant, failure_class, error)
            self._add("catalyst_ingest_document_failures", labels, count)
        self._add_fetches(run)
        if run.status == "success":
            self.last_success[tenant] = max(self.last_success.get(tenant, 0.0), run.finished_at)
            if run.index_version and run.index_version != self.index_version:
                self.index_version = run.index_version
                self.last_publish = run.finished_at
        self.runs_counted += 1

    def _add_fetches(self, run: RunFigures) -> None:
        kind = run.fetch_kind
        if not kind or kind == "folder":
            return
        labels = (run.tenant_id, kind)
        self._add("catalyst_ingest_fetches", labels, float(run.fetch.get("fetches", 0)))
        self._add("catalyst_ingest_fetched_bytes", labels, float(run.fetch.get("fetched_bytes", 0)))
        for reason, count in (run.fetch.get("retries") or {}).items():
            self._add("catalyst_ingest_fetch_retries", (*labels, reason), float(count))
        for failure_class, count in (run.fetch.get("fetch_failures") or {}).items():
            self._add("catalyst_ingest_fetch_failures", (*labels, failure_class), float(count))

    def to_json(self) -> dict[str, Any]:
        return {
            "counters": self.counters,
            "pending": self.pending,
            "born": self.born,
            "last_success": self.last_success,
            "last_publish": self.last_publish,
            "index_version": self.index_version,
            "runs_counted": self.runs_counted,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IngestTotals:
        return cls(
            counters=data.get("counters", {}),
            pending=data.get("pending", {}),
            born=data.get("born", {}),
            last_success=data.get("last_success", {}),
            last_publish=data.get("last_publish"),
            index_version=data.get("index_version"),
            runs_counted=int(data.get("runs_counted", 0)),
        )


class TotalsCollector(Collector):
    """Exposes ``IngestTotals`` as Prometheus metric families."""

    def __init__(self, totals: IngestTotals) -> None:
        self.totals = totals

    def collect(self) -> Iterator[Any]:
        for name, (documentation, labels) in COUNTERS.items():
            family = CounterMetricFamily(name, documentation, labels=list(labels))
            for key, value in sorted(self.totals.counters.get(name, {}).items()):
                family.add_metric(json.loads(key), value)
            yield family
        duration = HistogramMetricFamily(
            DURATION, "Wall time of finished ingest runs, by final status", labels=["status"]
        )
        buckets = self.totals.counters.get(f"{DURATION}_bucket", {})
        sums = self.totals.counters.get(f"{DURATION}_sum", {})
        for key, count in sorted(self.totals.counters.get(f"{DURATION}_count", {}).items()):
            (status,) = json.loads(key)
            bounds = [
                (str(le), buckets[_key((status, str(le)))]) for le in (*DURATION_BUCKETS, "+Inf")
            ]
            assert bounds[-1][1] == count
            duration.add_metric([status], bounds, sums[key])
        yield duration
        success = GaugeMetricFamily(
            LAST_SUCCESS, "When the tenant's last successful ingest run ended", labels=["tenant_id"]
        )
        for tenant, at in sorted(self.totals.last_success.items()):
            success.add_metric([tenant], at)
        yield success
        published = GaugeMetricFamily(
            LAST_PUBLISH, "When the last run that published a new index version ended"
        )
        if self.totals.last_publish is not None:
            published.add_metric([], self.totals.last_publish)
        yield published


def totals_registry(totals: IngestTotals) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(TotalsCollector(totals))
    return registry
