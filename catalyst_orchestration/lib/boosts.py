"""Feedback events become boosts: per document, and per (query term, document).

Each event weighs its rating (a click half a vote), halved every ``half_life_days`` of age. One
search counts once per document and kind, whichever of its chunks were rated. A document (or
term and document) needs evidence from ``min_evidence`` different searches before it moves at
all, so one vote changes nothing; its multiplier is ``1 + step * net weight``, held within the
caps. Only the ``max_*`` strongest of each tenant are kept, so a version stays small enough to
load in the service.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from catalyst_search.feedback.boosts import TERM_SEPARATOR, strongest_per_document
from catalyst_search.feedback.records import normalized, query_terms

if TYPE_CHECKING:  # pandas loads when a frame is made, not with the definitions
    import pandas as pd

EVENT_COLUMNS = [
    "event_id",
    "query_id",
    "tenant_id",
    "query",
    "document_id",
    "rating",
    "kind",
    "at",
]


@dataclass(frozen=True)
class BoostParams:
    min_evidence: int = 3
    half_life_days: float = 30.0
    # Measured on the ICD dev set (bench/quality.py --only-feedback; docs/feedback.md): boosts
    # for the exact query voted on lift those queries most, per-term ones a little further
    # without cost elsewhere, while per-document ones (the same document for every query)
    # lowered nDCG@10 on queries nobody voted on (0.408 -> 0.4055 at a step of 0.05). So
    # per-document boosts are off unless a step is chosen.
    document_step: float = 0.0
    term_step: float = 0.02
    query_step: float = 0.3
    click_weight: float = 0.5
    low: float = 0.5
    high: float = 2.0
    max_documents: int = 10_000
    max_terms: int = 50_000
    max_queries: int = 50_000


def _weights(events: pd.DataFrame, as_of: float, params: BoostParams) -> pd.Series:
    kind = events["kind"].map({"click": params.click_weight}).fillna(1.0)
    age_days = (as_of - events["at"]).clip(lower=0) / 86400
    return events["rating"] * kind * 0.5 ** (age_days / params.half_life_days)


def _multipliers(
    frame: pd.DataFrame, keys: list[str], step: float, params: BoostParams, limit: int
) -> pd.DataFrame:
    grouped = frame.groupby(keys).agg(weight=("weight", "sum"), evidence=("query_id", "nunique"))
    grouped = grouped[grouped["evidence"] >= params.min_evidence].reset_index()
    grouped["multiplier"] = (1 + step * grouped["weight"]).clip(params.low, params.high).round(4)
    grouped = grouped[(grouped["multiplier"] - 1).abs() >= 0.001]
    strength = grouped["multiplier"].map(lambda m: abs(math.log(m)))
    strongest = grouped.assign(strength=strength).sort_values(
        ["strength", *keys], ascending=[False, *[True] * len(keys)], kind="stable"
    )
    return strongest.groupby("tenant_id").head(limit)  # the limit holds per tenant


def compute_boosts(
    events: pd.DataFrame, *, as_of: float, params: BoostParams | None = None
) -> dict[str, dict[str, Any]]:
    """Per tenant, the boost version's content: documents, terms, caps."""
    params = params or BoostParams()
    if events.empty:
        return {}
    # one search counts once per document and kind, however many of its chunks were rated
    events = events.drop_duplicates(["tenant_id", "query_id", "document_id", "kind"], keep="last")
    frame = events.assign(weight=_weights(events, as_of, params))
    documents = _multipliers(
        frame, ["tenant_id", "document_id"], params.document_step, params, params.max_documents
    )
    terms = (
        frame.assign(term=frame["query"].map(query_terms)).explode("term").dropna(subset=["term"])
    )
    by_term = _multipliers(
        terms, ["tenant_id", "term", "document_id"], params.term_step, params, params.max_terms
    )
    queries = frame.assign(asked=frame["query"].map(normalized))
    by_query = _multipliers(
        queries, ["tenant_id", "asked", "document_id"], params.query_step, params,
        params.max_queries,
    )  # fmt: skip
    boosts: dict[str, dict[str, Any]] = {}
    for tenant in sorted(set(events["tenant_id"])):
        docs = documents[documents["tenant_id"] == tenant]
        tms = by_term[by_term["tenant_id"] == tenant]
        asked = by_query[by_query["tenant_id"] == tenant]
        boosts[tenant] = {
            "documents": {
                str(r.document_id): [float(r.multiplier), int(r.evidence)]
                for r in docs.itertuples()
            },
            "terms": {
                f"{r.term}{TERM_SEPARATOR}{r.document_id}": [float(r.multiplier), int(r.evidence)]
                for r in tms.itertuples()
            },
            "queries": {
                f"{r.asked}{TERM_SEPARATOR}{r.document_id}": [float(r.multiplier), int(r.evidence)]
                for r in asked.itertuples()
            },
            "caps": [params.low, params.high],
        }
    return boosts


def boost_stats(blob: dict[str, Any], events: int) -> dict[str, Any]:
    """What the version moves: documents up and down (by any boost of theirs), the largest
    moves, and how many boosts of each kind."""
    multipliers = [m for m, _ in strongest_per_document(blob).values()]
    return {
        "events": events,
        "documents_boosted": sum(m > 1 for m in multipliers),
        "documents_demoted": sum(m < 1 for m in multipliers),
        "term_boosts": len(blob["terms"]),
        "query_boosts": len(blob.get("queries", {})),
        "largest_boost": max(multipliers, default=1.0),
        "largest_demotion": min(multipliers, default=1.0),
    }


def ndcg_at_10(ranked: list[str], relevant: set[str]) -> float:
    """Binary-relevance nDCG@10 of one ranking."""
    dcg = sum(1 / math.log2(n + 2) for n, doc in enumerate(ranked[:10]) if doc in relevant)
    ideal = sum(1 / math.log2(n + 2) for n in range(min(len(relevant), 10)))
    return dcg / ideal if ideal else 0.0
