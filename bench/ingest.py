"""Ingestion throughput through Dagster beside the raw dense-encoder throughput, in one run.

The dense encoder is the ceiling (architecture decision 4); the ratio says how much of it the
pipeline keeps after acquisition, parsing, chunking, BM25, upserts, optimize and publish.

    python bench/ingest.py [--limit N]     # N documents of the ICD corpus (default: all 46,920)
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import CORPUS, bench_home, use_home
from catalyst_orchestration.lib.chunking import Chunker
from catalyst_search.embed.dense import DenseEncoder

ENCODER_SAMPLE = 4000


def encoder_docs_per_s(texts: list[str]) -> float:
    encoder = DenseEncoder().load()
    encoder.encode(texts[:64])  # warm-up
    started = time.perf_counter()
    encoder.encode(texts)
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, help="ingest only the first N documents")
    parser.add_argument("--keep", action="store_true", help="keep the index as the bench index")
    args = parser.parse_args()
    with gzip.open(CORPUS, "rt") as handle:
        lines = handle.readlines()
    lines = lines[: args.limit] if args.limit else lines
    work = Path(tempfile.mkdtemp(prefix="catalyst-bench-ingest-"))
    source = work / "corpus.jsonl"
    source.write_text("".join(lines))
    home = bench_home() if args.keep else work / "home"
    if args.keep and home.exists():
        shutil.rmtree(home)
    use_home(home)

    from catalyst_orchestration.ingest import run_ingest
    from catalyst_search.settings import load_settings

    texts = [json.loads(line)["text"] for line in lines[:ENCODER_SAMPLE]]
    chunker = Chunker()
    tokens = [chunker.count_tokens(t) for t in texts]
    print(f"{len(lines)} documents; sample mean {sum(tokens) / len(tokens):.0f} word pieces")

    started = time.perf_counter()
    summary = run_ingest(source, tenant="default", settings=load_settings())
    first_s = time.perf_counter() - started
    assert summary["success"], summary
    started = time.perf_counter()
    again = run_ingest(source, tenant="default", settings=load_settings())
    again_s = time.perf_counter() - started
    encoder = encoder_docs_per_s(texts)

    pipeline = len(lines) / first_s
    print(
        f"\nfirst ingest through Dagster: {first_s:8.1f} s  {pipeline:8.1f} docs/s "
        f"({summary['chunks_written']} chunks, index {summary['index_version']})"
    )
    print(
        f"  inside the index step: embed {summary['embed_s']:.1f} s, "
        f"write {summary['write_s']:.1f} s, optimize+publish {summary['publish_s']:.1f} s"
    )
    print(
        f"re-ingest, nothing changed:   {again_s:8.1f} s  "
        f"({again['documents_unchanged']} unchanged, {again['chunks_written']} embedded)"
    )
    print(f"raw dense encoder (same run): {encoder:8.1f} docs/s on {len(texts)} documents")
    print(f"pipeline / encoder ratio:     {pipeline / encoder:8.2f}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
