"""HNSW build settings against recall: the bench index's points rebuilt once per
``ef_construct`` and graph's vectors (int8 copies, what shards use, or the fp32 vectors), each
timed through optimize, then dense queries of the ICD dev set searched as the service searches
(``hnsw_ef`` from the settings, fp32 vectors) and against exact search.

    python bench/hnsw.py [--ef-construct 100] [--graph int8 fp32] [--queries 800]

Uses the fp32 bench index (``bench/results/icd-home``, built first if missing) as the source
of the points, so the vectors and payloads are the ones an ingest writes.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import qdrant_edge as qe

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_home, ensure_index, load_queries, use_home
from catalyst_search.embed.dense import DenseEncoder
from catalyst_search.index.embedded import conversion, versions
from catalyst_search.index.schema import DENSE_VECTOR
from catalyst_search.settings import get_settings


def stored_points(index_dir: Path) -> list[qe.Point]:
    shard = qe.EdgeShard.load(
        str(versions.version_dir(index_dir, versions.current_version(index_dir) or ""))
    )
    points, offset = [], None
    try:
        while True:
            records, offset = shard.scroll(
                qe.ScrollRequest(limit=2000, offset=offset, with_vector=True, with_payload=True)
            )
            points += [qe.Point(r.id, r.vector or {}, r.payload) for r in records]
            if offset is None:
                return points
    finally:
        shard.close()


def built(
    points: list[qe.Point], ef_construct: int, graph: str, where: Path
) -> tuple[qe.EdgeShard, float]:
    hnsw = qe.HnswIndexConfig(m=16, ef_construct=ef_construct, full_scan_threshold=10_000)
    quantization = conversion.GRAPH_QUANTIZATION if graph == "int8" else None
    shard = conversion.create_shard(
        where, conversion.shard_config(hnsw=hnsw, quantization=quantization)
    )
    for start in range(0, len(points), 512):
        shard.update(qe.UpdateOperation.upsert_points(points[start : start + 512]))
    started = time.perf_counter()
    shard.optimize()
    return shard, time.perf_counter() - started


def recall(
    shard: qe.EdgeShard, vectors: np.ndarray, k: int, ef: int, flt: qe.Filter | None = None
) -> float:
    def top(vector: np.ndarray, params: qe.SearchParams) -> set[str]:
        query = qe.Query.Nearest(vector.tolist(), using=DENSE_VECTOR)
        request = qe.QueryRequest(query=query, limit=k, filter=flt, params=params)
        return {str(point.id) for point in shard.query(request)}

    graph = conversion.search_params(hnsw_ef=ef, exact=False)  # as the service searches
    exact = conversion.search_params(hnsw_ef=None, exact=True)
    found = [len(top(v, graph) & top(v, exact)) / k for v in vectors]
    return float(np.mean(found))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ef-construct", type=int, nargs="+", default=[100])
    parser.add_argument("--graph", choices=["int8", "fp32"], nargs="+", default=["int8", "fp32"])
    parser.add_argument("--queries", type=int, default=800)
    args = parser.parse_args()
    home = bench_home()
    ensure_index(home)
    use_home(home)
    settings = get_settings()
    points = stored_points(settings.index_dir)
    queries = load_queries(args.queries)
    vectors = DenseEncoder.from_settings(settings).encode([q["query"] for q in queries])
    print(f"{len(points)} points, {len(queries)} queries, hnsw_ef {settings.hnsw_ef}")
    chapters = [
        qe.Filter(must=[qe.FieldCondition(key="chapter", match=qe.MatchValue(q["chapter"]))])
        for q in queries
    ]
    for ef_construct, graph in [(ef, g) for ef in args.ef_construct for g in args.graph]:
        where = Path(tempfile.mkdtemp(prefix="catalyst-bench-hnsw-"))
        try:
            shard, optimize_s = built(points, ef_construct, graph, where / "shard")
            filtered = np.mean(
                [
                    recall(shard, v[None], 10, settings.hnsw_ef, f)
                    for v, f in zip(vectors, chapters, strict=True)
                ]
            )
            print(
                f"ef_construct {ef_construct:4d}, graph on {graph}: optimize {optimize_s:5.1f} s, "
                f"recall@50 {recall(shard, vectors, 50, settings.hnsw_ef):.4f}, "
                f"recall@10 with the chapter filter {filtered:.4f}"
            )
            shard.close()
        finally:
            shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    main()
