"""``GET /feedback/analytics``: the store's hourly counters added up into buckets, the queries
searched most and rated worst, and the documents the live boosts move most (each by its
strongest boost of any kind)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from catalyst_search.feedback.boosts import strongest_per_document
from catalyst_search.feedback.store import COUNTERS, FeedbackStore, day_of

Bucket = Literal["hour", "day", "week"]
MAX_BUCKETS = 1000
TOP = 10


def bucket_of(hour: int, bucket: Bucket) -> int:
    if bucket == "hour":
        return hour
    day = day_of(hour)
    if bucket == "day":
        return day
    return day - datetime.fromtimestamp(day, UTC).weekday() * 86400  # weeks start on Monday


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def analytics(
    store: FeedbackStore, tenant_id: str, start: float, end: float, bucket: Bucket
) -> dict[str, Any]:
    rows: dict[int, dict[str, int]] = {}
    for hour, counts in store.counters(tenant_id, start, end).items():
        into = rows.setdefault(bucket_of(hour, bucket), dict.fromkeys(COUNTERS, 0))
        for name, value in counts.items():
            into[name] = into.get(name, 0) + value
    buckets = [
        {
            "start": datetime.fromtimestamp(at, UTC).isoformat(),
            **counts,
            "positive_rate": _rate(counts["positive"], counts["feedback"]),
            "click_through_rate": _rate(counts["clicks"], counts["searches"]),
            "zero_result_rate": _rate(counts["zero_results"], counts["searches"]),
        }
        for at, counts in sorted(rows.items())
    ]
    queries = store.queries(tenant_id, start, end, top=TOP)
    top = sorted(queries.items(), key=lambda q: (-q[1][0], q[0]))[:TOP]
    worst = sorted(((q, c) for q, c in queries.items() if c[1]), key=lambda q: (-q[1][1], q[0]))[
        :TOP
    ]
    live = store.live_boosts(tenant_id)
    documents = strongest_per_document(live[1]) if live else {}
    ranked = sorted(documents.items(), key=lambda d: (-d[1][0], d[0]))
    moved: list[dict[str, Any]] = [
        {"document_id": d, "multiplier": m, "evidence": n} for d, (m, n) in ranked
    ]
    return {
        "tenant_id": tenant_id,
        "bucket": bucket,
        "buckets": buckets,
        "top_queries": [{"query": q, "searches": s, "negative": n} for q, (s, n) in top],
        "worst_queries": [{"query": q, "searches": s, "negative": n} for q, (s, n) in worst],
        "most_boosted": [d for d in moved if float(d["multiplier"]) > 1][:TOP],
        "most_demoted": [d for d in reversed(moved) if float(d["multiplier"]) < 1][:TOP],
        "boost_version": live[0] if live else None,
    }
