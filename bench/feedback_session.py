"""A simulated feedback session on the ICD dev set, measured on queries it never saw.

The dev queries are split in two halves (alternating). On the first, ``users`` people each run
every query once and vote with the labels: +1 on the relevant document when it is in the top
10, -1 on the documents ranked above it (or on the top 3 when it is missing). The votes become
boosts exactly as the tuning job computes them (``compute_boosts``). Economy nDCG@10 is then
measured on the other half without and with those boosts, and on the first half for reference.
"""

from __future__ import annotations

import time

import pandas as pd

from bench.common import dedupe_documents, metrics_at_k
from catalyst_orchestration.lib.boosts import EVENT_COLUMNS, compute_boosts
from catalyst_search.feedback.boosts import BOOST_WINDOW, FixedBoosts, LiveBoosts
from catalyst_search.retrieval.hybrid import Retriever

FETCH = 20


def _ranked(retriever: Retriever, query: str) -> list[str]:
    result = retriever.search(tenant_id="default", query=query, top_k=BOOST_WINDOW)
    return dedupe_documents([r.hit.payload["document_id"] for r in result.hits], 10)


def _ndcg(retriever: Retriever, queries: list[dict], boosts: LiveBoosts | None) -> float:
    retriever.boosts = FixedBoosts(boosts)
    scores = [metrics_at_k(_ranked(retriever, q["query"]), set(q["relevant"]))[0] for q in queries]
    return sum(scores) / len(scores)


def votes(retriever: Retriever, queries: list[dict], users: int) -> pd.DataFrame:
    retriever.boosts = None
    now, rows = time.time(), []
    for q in queries:
        ranked = _ranked(retriever, q["query"])
        relevant = set(q["relevant"])
        hit = next((n for n, d in enumerate(ranked) if d in relevant), None)
        judged = [(d, 1) for d in ranked if d in relevant]
        judged += [(d, -1) for d in ranked[: hit if hit is not None else 3]]
        for user in range(users):
            for document, rating in judged:
                rows.append([f"{q['qid']}:{user}:{document}", f"{q['qid']}:{user}", "default",
                             q["query"], document, rating, "vote", now])  # fmt: skip
    return pd.DataFrame(rows, columns=EVENT_COLUMNS)


def feedback_session(retriever: Retriever, queries: list[dict], *, users: int = 3) -> None:
    train, test = queries[::2], queries[1::2]
    started = time.perf_counter()
    events = votes(retriever, train, users)
    blob = compute_boosts(events, as_of=time.time()).get("default")
    boosts = LiveBoosts("simulated", blob) if blob else None
    kinds = {
        kind: len(blob.get(kind, {})) if blob else 0 for kind in ("documents", "queries", "terms")
    }
    print(
        f"\nsimulated feedback: {users} users x {len(train)} queries -> {len(events)} votes; "
        f"boosts: {kinds['queries']} (query, document), {kinds['terms']} (term, document), "
        f"{kinds['documents']} document"
    )
    print(f"{'economy nDCG@10':32} {'no boosts':>10} {'boosts':>10}")
    for name, half in ((f"held-out half ({len(test)} queries)", test),
                       (f"voted half ({len(train)} queries)", train)):  # fmt: skip
        print(
            f"{name:32} {_ndcg(retriever, half, None):10.4f} {_ndcg(retriever, half, boosts):10.4f}"
        )
    print(f"  ({time.perf_counter() - started:.0f}s)")
