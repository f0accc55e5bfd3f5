"""Is a boost version safe to put in force? Two measures, each against what is live now.

- **Evaluation queries** (``CATALYST_EVAL_QUERIES``): mean nDCG@10 with the new version must
  not be lower than with the live one (or none).
- **Later feedback**: boosts learned from the earlier 80% of the tenant's feedback must not
  rank the later 20%'s targets worse than no boosts do. The measure is the mean of rating x
  1/rank, so helpful results should rise and unhelpful ones fall.

Both run real searches (economy, the service's settings) over the published index.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from catalyst_orchestration.lib.boosts import compute_boosts, ndcg_at_10
from catalyst_search.embed.dense import DenseEncoder
from catalyst_search.embed.sparse import SparseEncoder
from catalyst_search.feedback.boosts import BOOST_WINDOW, FixedBoosts, LiveBoosts
from catalyst_search.feedback.store import FeedbackStore
from catalyst_search.index.factory import open_reader, recorded_encoder
from catalyst_search.retrieval.factory import retrieval_config
from catalyst_search.retrieval.hybrid import Retriever
from catalyst_search.settings import Settings, get_settings

if TYPE_CHECKING:  # pandas loads when a frame is made, not with the definitions
    import pandas as pd

MAX_QUERIES = 500
HELD_OUT = 0.2
MIN_HELD_OUT = 5
MAX_HELD_OUT = 200
TOLERANCE = 1e-9


@dataclass
class Evaluation:
    passed: bool = True
    notes: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        return "; ".join(self.notes) or "nothing to evaluate"


def eval_queries(settings: Settings) -> dict[str, list[tuple[str, set[str]]]]:
    """``CATALYST_EVAL_QUERIES`` per tenant: (query, relevant document ids)."""
    found: dict[str, list[tuple[str, set[str]]]] = defaultdict(list)
    if settings.eval_queries is None:
        return found
    with open(settings.eval_queries) as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                tenant = row.get("tenant_id", settings.default_tenant)
                found[tenant].append((row["query"], set(map(str, row["relevant"]))))
    return {tenant: rows[:MAX_QUERIES] for tenant, rows in found.items()}


def _ranking(retriever: Retriever, tenant: str, query: str, boosts: LiveBoosts | None) -> list[str]:
    retriever.boosts = FixedBoosts(boosts)
    result = retriever.search(tenant_id=tenant, query=query, top_k=BOOST_WINDOW)
    return [str(h.hit.payload.get("document_id", "")) for h in result.hits]


def _ndcg(retriever: Retriever, tenant: str, rows: list, boosts: LiveBoosts | None) -> float:
    scores = [ndcg_at_10(_ranking(retriever, tenant, q, boosts), rel) for q, rel in rows]
    return sum(scores) / len(scores)


def _held_out(retriever: Retriever, tenant: str, events: pd.DataFrame) -> tuple[float, float, int]:
    """(score without boosts, score with boosts from earlier feedback, held-out events)."""
    ordered = events[events["tenant_id"] == tenant].sort_values("at")
    held = int(len(ordered) * HELD_OUT)
    if held < MIN_HELD_OUT:
        return 0.0, 0.0, 0
    train, later = ordered.iloc[:-held], ordered.iloc[-held:].tail(MAX_HELD_OUT)
    learned = compute_boosts(train, as_of=float(later["at"].min())).get(tenant)
    trained = LiveBoosts("held-out", learned) if learned else None

    def score(boosts: LiveBoosts | None) -> float:
        total = 0.0
        for row in later.itertuples():
            ranking = _ranking(retriever, tenant, str(row.query), boosts)
            rank = ranking.index(row.document_id) + 1 if row.document_id in ranking else None
            total += float(row.rating) / rank if rank else 0.0
        return total / len(later)

    return score(None), score(trained), len(later)


def evaluate_version(
    store: FeedbackStore,
    version: str,
    tenants: list[str],
    *,
    dense: DenseEncoder,
    events: pd.DataFrame,
) -> Evaluation:
    """``events``: the feedback the version was learned from (its later part is held out)."""
    settings = get_settings()
    queries = eval_queries(settings)
    reader = open_reader(settings)
    retriever = Retriever(reader, dense, SparseEncoder(), retrieval_config(settings))
    report = Evaluation()
    try:
        dense.check_index(recorded_encoder(settings, reader))  # its vectors, its encoder
        for tenant in tenants:
            blob = store.get_boosts(tenant, version)
            candidate = LiveBoosts(version, blob) if blob else None
            live = store.live_boosts(tenant)
            current = LiveBoosts(*live) if live else None
            if queries.get(tenant):
                before = _ndcg(retriever, tenant, queries[tenant], current)
                after = _ndcg(retriever, tenant, queries[tenant], candidate)
                ok = after >= before - TOLERANCE
                report.passed &= ok
                report.metadata[f"{tenant}: nDCG@10 live"] = round(before, 4)
                report.metadata[f"{tenant}: nDCG@10 new"] = round(after, 4)
                report.notes.append(
                    f"{tenant}: nDCG@10 {before:.4f} -> {after:.4f}" + ("" if ok else " (drops)")
                )
            without, learned, held = _held_out(retriever, tenant, events)
            if held:
                ok = learned >= without - TOLERANCE
                report.passed &= ok
                report.metadata[f"{tenant}: later feedback, no boosts"] = round(without, 4)
                report.metadata[f"{tenant}: later feedback, learned boosts"] = round(learned, 4)
                report.notes.append(
                    f"{tenant}: {held} later events {without:.4f} -> {learned:.4f}"
                    + ("" if ok else " (worse)")
                )
    finally:
        reader.close()
    return report
