"""Shared by the benchmarks: the ICD-10-CM set, a bench CATALYST_HOME, retrieval metrics."""

from __future__ import annotations

import gzip
import json
import math
import os
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "icd10cm"
CORPUS = DATA / "corpus.jsonl.gz"
QUERIES = DATA / "queries_dev.jsonl.gz"
RESULTS = ROOT / "bench" / "results"


def bench_home(name: str = "icd-home", precision: str = "fp32") -> Path:
    """Where the benchmark index lives (override with CATALYST_BENCH_HOME); the index an int8
    encoder wrote lies beside it, its name ending in ``-int8``."""
    home = Path(os.environ.get("CATALYST_BENCH_HOME", RESULTS / name)).resolve()
    return home if precision == "fp32" else home.with_name(f"{home.name}-{precision}")


def use_home(home: Path) -> None:
    os.environ["CATALYST_HOME"] = str(home)
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    # the benchmark corpus is a local source: it must lie under a source root
    os.environ.setdefault("CATALYST_SOURCE_ROOTS", str(DATA))


def load_queries(limit: int | None = None) -> list[dict[str, Any]]:
    with gzip.open(QUERIES, "rt") as handle:
        queries = [json.loads(line) for line in handle]
    return queries[:limit] if limit else queries


def ensure_index(home: Path, precision: str = "fp32") -> None:
    """Ingest the ICD corpus through Dagster into ``home`` unless it already holds it, with
    the dense encoder in ``precision``."""
    from catalyst_orchestration.ingest import run_ingest
    from catalyst_search.settings import load_settings

    use_home(home)
    if (load_settings().index_dir / "CURRENT").exists():
        return

    print(f"building the ICD index in {home} through Dagster (several minutes)...", flush=True)
    started = time.perf_counter()
    from catalyst_search.settings import get_settings

    before = os.environ.get("CATALYST_ENCODER_PRECISION")
    os.environ["CATALYST_ENCODER_PRECISION"] = precision  # what the run's resources read
    get_settings.cache_clear()
    try:
        summary = run_ingest(CORPUS, tenant="default", settings=load_settings())
    finally:
        if before is None:
            del os.environ["CATALYST_ENCODER_PRECISION"]
        else:
            os.environ["CATALYST_ENCODER_PRECISION"] = before
        get_settings.cache_clear()
    if not summary["success"]:
        raise SystemExit(f"ingest failed: run {summary['run_id']}")
    print(f"  built in {time.perf_counter() - started:.0f}s", flush=True)


def dedupe_documents(doc_ids: list[str], k: int) -> list[str]:
    """Chunks -> documents, keeping each document's best rank."""
    seen: list[str] = []
    for doc_id in doc_ids:
        if doc_id not in seen:
            seen.append(doc_id)
        if len(seen) == k:
            break
    return seen


def metrics_at_k(ranked: list[str], relevant: set[str], k: int = 10) -> tuple[float, float, float]:
    """(nDCG@k, MRR@k, Recall@k) with binary relevance."""
    top = ranked[:k]
    dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(top) if d in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    rr = next((1 / (i + 1) for i, d in enumerate(top) if d in relevant), 0.0)
    recall = len(relevant & set(top)) / len(relevant) if relevant else 0.0
    return (dcg / ideal if ideal else 0.0), rr, recall


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[index]
