"""Retrieval quality on the ICD-10-CM dev queries: nDCG@10, MRR@10, Recall@10.

Dense, sparse and hybrid over the same index in one run, each with and without the query's
``chapter`` filter; plus the fusion variants that decided the default (RRF k, DBSF); then
premium against economy, and economy before and after a simulated feedback session
(bench/feedback_session.py: votes on half the queries, measured on the other half).

    python bench/quality.py [--limit N] [--only-feedback] [--precision int8]

``--precision int8`` measures the index an int8 encoder wrote (built on first use), with int8
queries; the "torch queries" rows are fp32 queries against it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_home, dedupe_documents, ensure_index, load_queries, metrics_at_k
from bench.feedback_session import feedback_session
from catalyst_search.embed.dense import DenseEncoder
from catalyst_search.embed.sparse import SparseEncoder
from catalyst_search.index.contract import HybridQuery
from catalyst_search.index.embedded.reader import EmbeddedReader
from catalyst_search.index.filters import FilterSpec, Match, tenant_filter
from catalyst_search.retrieval.factory import build_retriever
from catalyst_search.settings import Settings, load_settings

FETCH = 40  # chunks (headings included) fetched per query, deduplicated to 10 documents


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, help="evaluate the first N queries only")
    parser.add_argument(
        "--premium-queries", type=int, default=0, help="queries for premium (0: all)"
    )
    parser.add_argument("--feedback-users", type=int, default=3, help="voters per query")
    parser.add_argument(
        "--only-feedback", action="store_true", help="the feedback session alone (quicker)"
    )
    parser.add_argument("--only-premium", action="store_true", help="economy against premium")
    parser.add_argument("--precision", choices=["fp32", "int8"], default="fp32")
    args = parser.parse_args()
    os.environ["CATALYST_ENCODER_PRECISION"] = args.precision  # the ingest's and the queries'
    home = bench_home(precision=args.precision)
    ensure_index(home, args.precision)
    settings = load_settings(home=home)
    queries = load_queries(args.limit)
    if args.only_premium:
        premium(queries[: args.premium_queries or None], settings)
        return
    if args.only_feedback:
        feedback_session(build_retriever(settings), queries, users=args.feedback_users)
        return
    reader = EmbeddedReader(settings.index_dir, search_threads=settings.index_search_threads)
    dense, sparse = DenseEncoder.from_settings(settings, batch_size=128), SparseEncoder()
    started = time.perf_counter()
    dense_vectors = dense.encode([q["query"] for q in queries])
    torch_vectors = DenseEncoder(runtime="torch", batch_size=128).encode(
        [q["query"] for q in queries]
    )
    sparse_vectors = [sparse.encode_query(q["query"]) for q in queries]
    encode_s = time.perf_counter() - started
    print(
        f"index {reader.version} in {home}; {len(queries)} dev queries (encoded in {encode_s:.1f}s"
        f" with {dense.runtime} and with torch)"
    )

    variants: list[tuple[str, dict[str, Any]]] = [
        (f"hybrid {settings.fusion}, torch queries", dict(fusion=settings.fusion, torch=True)),
        ("dense", dict(use_dense=True, use_sparse=False)),
        ("sparse", dict(use_dense=False, use_sparse=True)),
        (f"hybrid {settings.fusion} ef={settings.hnsw_ef} (default)", dict(fusion=settings.fusion)),
        ("hybrid rrf k=2", dict(rrf_k=2, fusion="rrf")),
        ("hybrid rrf k=60", dict(rrf_k=60)),
        ("hybrid dbsf", dict(fusion="dbsf")),
        ("hybrid rrf, exact dense", dict(rrf_k=settings.rrf_k, exact=True)),
        ("hybrid dbsf, exact dense", dict(fusion="dbsf", exact=True)),
        ("hybrid rrf, hnsw_ef=512", dict(fusion="rrf", hnsw_ef=512)),
        ("hybrid dbsf, hnsw_ef=512", dict(fusion="dbsf", hnsw_ef=512)),
    ]
    print(f"\n{'variant':32} {'filter':8} {'nDCG@10':>8} {'MRR@10':>8} {'R@10':>8} {'ms/q':>7}")
    for name, opts in variants:
        for use_filter in (False, True):
            totals = [0.0, 0.0, 0.0]
            mark = time.perf_counter()
            for i, q in enumerate(queries):
                extra = (
                    FilterSpec(must=(Match("chapter", (q["chapter"],)),)) if use_filter else None
                )
                hits = reader.query(
                    HybridQuery(
                        dense=(torch_vectors if opts.get("torch") else dense_vectors)[i].tolist()
                        if opts.get("use_dense", True)
                        else None,
                        sparse=sparse_vectors[i] if opts.get("use_sparse", True) else None,
                        filter=tenant_filter("default", extra),
                        limit=FETCH,
                        prefetch_limit=settings.prefetch_limit,
                        fusion=opts.get("fusion", "rrf"),
                        rrf_k=int(opts.get("rrf_k", settings.rrf_k)),
                        hnsw_ef=int(opts.get("hnsw_ef", settings.hnsw_ef)),
                        exact=bool(opts.get("exact", settings.exact_search)),
                    )
                )
                ranked = dedupe_documents([h.payload["document_id"] for h in hits], 10)
                for n, value in enumerate(metrics_at_k(ranked, set(q["relevant"]))):
                    totals[n] += value
            per_query_ms = (time.perf_counter() - mark) * 1000 / len(queries)
            ndcg, mrr, recall = (t / len(queries) for t in totals)
            label = "chapter" if use_filter else "none"
            print(f"{name:32} {label:8} {ndcg:8.4f} {mrr:8.4f} {recall:8.4f} {per_query_ms:7.2f}")
    reader.close()
    premium(queries[: args.premium_queries or None], settings)
    feedback_session(build_retriever(settings), queries, users=args.feedback_users)


def premium(queries: list[dict], settings: Settings) -> None:
    """Economy against premium with the local reranker, through the service's own Retriever,
    asking for 10 results as a caller would."""
    retriever = build_retriever(settings.model_copy(update={"rerank_tiers": "local"}))
    print(
        f"\neconomy vs premium (local reranker over {settings.rerank_candidates} fused "
        f"candidates) on the first {len(queries)} queries"
    )
    for mode in ("economy", "premium"):
        totals = [0.0, 0.0, 0.0]
        mark = time.perf_counter()
        for q in queries:
            result = retriever.search(tenant_id="default", query=q["query"], top_k=10, mode=mode)
            ranked = dedupe_documents([r.hit.payload["document_id"] for r in result.hits], 10)
            for n, value in enumerate(metrics_at_k(ranked, set(q["relevant"]))):
                totals[n] += value
        per_query_ms = (time.perf_counter() - mark) * 1000 / len(queries)
        ndcg, mrr, recall = (t / len(queries) for t in totals)
        tier = result.rerank_tier
        print(
            f"{mode + ' (' + tier + ')':32} {'none':8} {ndcg:8.4f} {mrr:8.4f} {recall:8.4f} "
            f"{per_query_ms:7.2f}"
        )


if __name__ == "__main__":
    main()
