"""Premium reranking: try the tiers in order, degrade with a reason, audit, count."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from catalyst_search.metrics import SearchMetrics
from catalyst_search.retrieval.rerank.base import Reranker, RerankUnavailable
from catalyst_search.retrieval.rerank.breaker import CircuitBreaker

log = logging.getLogger("catalyst_search.rerank")

FUSED = "fused"


@dataclass(frozen=True)
class RerankOutcome:
    order: list[tuple[int, float | None]]  # candidate index, rerank score (None: fused order)
    tier: str
    requested_tier: str
    degraded: bool
    reason: str | None


class AuditLog:
    """Append-only JSON lines: one entry per degraded premium search."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, **entry: object) -> None:
        line = json.dumps({"ts": time.time(), **entry}, sort_keys=True)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as handle:
                handle.write(line + "\n")

    def entries(self) -> list[dict[str, object]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]


class LogAudit(AuditLog):
    """The production profile's audit trail: one JSON line per degraded premium search on the
    ``catalyst_search.audit`` logger (collected with the service's logs), nothing on disk."""

    def __init__(self) -> None:
        self.log = logging.getLogger("catalyst_search.audit")

    def write(self, **entry: object) -> None:
        self.log.warning(json.dumps({"ts": time.time(), "event": "rerank_degraded", **entry}))

    def entries(self) -> list[dict[str, object]]:
        return []  # kept by the log collector, not by this process


class RerankChain:
    """Hosted tiers first (each behind a circuit breaker), then local, then fused order."""

    def __init__(
        self,
        tiers: Sequence[Reranker],
        *,
        audit: AuditLog,
        metrics: SearchMetrics,
        breaker_threshold: int = 3,
        breaker_reset_s: float = 30.0,
        unavailable: dict[str, str] | None = None,
    ) -> None:
        self.tiers = list(tiers)
        self.audit = audit
        self.metrics = metrics
        self.breakers = {
            t.tier: CircuitBreaker(threshold=breaker_threshold, reset_after_s=breaker_reset_s)
            for t in self.tiers
            if t.hosted
        }
        #: tiers switched off at start-up (bad credentials), with the reason
        self.unavailable = dict(unavailable or {})

    @property
    def requested_tier(self) -> str:
        """What premium asks for: the best configured tier, hosted if any is configured."""
        names = [t.tier for t in self.tiers] + list(self.unavailable)
        for preferred in ("cohere", "openai"):
            if preferred in names:
                return preferred
        return "cohere"  # premium means a hosted reranker; none configured is a degradation

    def rerank(
        self,
        query: str,
        documents: Sequence[str],
        *,
        tenant_id: str,
        query_id: str,
        ids: Sequence[str] = (),
    ) -> RerankOutcome:
        requested = self.requested_tier
        reasons: list[str] = []
        if requested not in [t.tier for t in self.tiers]:
            reasons.append(self.unavailable.get(requested, f"{requested}_not_configured"))
        for tier in self.tiers:
            breaker = self.breakers.get(tier.tier)
            if breaker is not None and not breaker.allow():
                reasons.append(f"{tier.tier}_circuit_open")
                continue
            try:
                order: list[tuple[int, float | None]] = list(tier.rerank(query, documents, ids=ids))
            except RerankUnavailable as exc:
                if breaker is not None:
                    breaker.record_failure()
                log.warning("rerank tier %s unavailable: %s", tier.tier, exc)
                reasons.append(f"{tier.tier}_{exc.reason}")
                continue
            if breaker is not None:
                breaker.record_success()
            return self._outcome(order, tier.tier, requested, reasons, tenant_id, query_id)
        fused: list[tuple[int, float | None]] = [(i, None) for i in range(len(documents))]
        return self._outcome(fused, FUSED, requested, reasons, tenant_id, query_id)

    def _outcome(
        self,
        order: list[tuple[int, float | None]],
        tier: str,
        requested: str,
        reasons: list[str],
        tenant_id: str,
        query_id: str,
    ) -> RerankOutcome:
        degraded = tier != requested
        reason = ",".join(reasons) if degraded else None
        if degraded:
            self.metrics.degradations.labels(
                reason=reasons[0] if reasons else "unknown", requested_tier=requested, tier=tier
            ).inc()
            self.audit.write(
                tenant_id=tenant_id,
                query_id=query_id,
                requested_tier=requested,
                tier_used=tier,
                reason=reason,
            )
        return RerankOutcome(order, tier, requested, degraded, reason)
