"""Ingestion throughput through Dagster beside the raw dense-encoder throughput, for the ONNX
runtime (the default) and the torch pipeline, in one run.

The dense encoder is the ceiling (architecture decision 4): its raw rate is measured on the
texts the pipeline embeds for the same documents (every chunk, headings included), and the
ratio says how much of it the pipeline keeps after acquisition, parsing, chunking, BM25,
upserts, optimize and publish. The ONNX export is made once per weights at first use and then
cached (``CATALYST_MODEL_CACHE``): the bench makes it before the runs, in its own process, and
reports its time apart, so neither pipeline pays it (nor carries torch loaded for its parity
check) inside the timed ingest.

    python bench/ingest.py [--limit N]     # N documents of the ICD corpus (default: all 46,920)
    python bench/ingest.py --only onnx --precision int8   # the int8 encoder, rate and ratio
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import CORPUS, RESULTS, use_home
from catalyst_orchestration.lib.chunking import Chunker
from catalyst_search.embed.dense import DenseEncoder
from catalyst_search.settings import load_settings

ENCODER_SAMPLE = 4000
RUNTIMES = ("onnx", "torch")


def encoder_docs_per_s(
    runtime: str, texts: list[str], precision: str = "fp32", *, bulk: bool = True
) -> float:
    """Documents per second the encoder alone embeds: all their chunks, in ingest's batches.

    ``bulk``: configured as the index step's (its session calls one per core at once); else
    one call at a time on every core (the query path's configuration, and the ratio's
    reference before 2026-12-06)."""
    chunker = Chunker()
    embed_texts = [c.embed_text for t in texts for c in chunker.chunk(t)]
    embed_texts.sort(key=len)  # as the index step orders them
    # configured as the index step's (EncodersResource): the settings' batch size, and its
    # session calls one per core at once
    encoder = DenseEncoder.from_settings(load_settings(), bulk=bulk)
    assert (encoder.runtime, encoder.precision) == (runtime, precision)
    encoder.load()
    encoder.encode(embed_texts[:64])  # warm-up
    started = time.perf_counter()
    for start in range(0, len(embed_texts), 256):
        encoder.encode(embed_texts[start : start + 256])
    return len(texts) / (time.perf_counter() - started)


def prepare_export(precision: str) -> None:
    """The parity-checked ONNX export in the shared model cache, made now if it is missing."""
    os.environ.setdefault("CATALYST_MODEL_CACHE", str(RESULTS / "models"))
    code = (
        "import os, pathlib; from catalyst_search.embed.dense import model_path; "
        "from catalyst_search.embed.onnx_export import exported_model; "
        "print(exported_model(pathlib.Path(os.environ['CATALYST_MODEL_CACHE']), model_path(), "
        f"{precision!r}))"
    )
    started = time.perf_counter()
    path = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()
    print(f"ONNX export ready in {time.perf_counter() - started:.1f} s (once per weights): {path}")


def reference_before(limit: int | None) -> float:
    """The raw encoder's rate just before an ingest, in a process of its own so the timed
    ingest still loads its runtime cold. With the rate after it, the ratio's reference is
    their mean: the machine's speed drifts by several percent within minutes (2026-12-06: 256
    and 245 docs/s half an hour apart), as much as a change to the pipeline moves it."""
    command = [sys.executable, __file__, "--reference", *(["--limit", str(limit)] if limit else [])]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"the reference run failed:\n{done.stderr}")
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, help="ingest only the first N documents")
    parser.add_argument("--only", choices=RUNTIMES, help="one runtime only")
    parser.add_argument(
        "--precision", choices=["fp32", "int8"], default="fp32", help="the onnx runtime's"
    )
    parser.add_argument("--reference", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    with gzip.open(CORPUS, "rt") as handle:
        lines = handle.readlines()
    lines = lines[: args.limit] if args.limit else lines
    # every k-th document, so the sample has the corpus's mix of lengths: the first 4,000 were
    # one part of it, 9% shorter than the average, and the encoder's rate on them too high
    step = max(1, len(lines) // ENCODER_SAMPLE)
    texts = [json.loads(line)["text"] for line in lines[::step][:ENCODER_SAMPLE]]
    if args.reference:  # the encoder alone, as configured by the environment (reference_before)
        settings = load_settings()
        print(encoder_docs_per_s(settings.encoder_runtime, texts, settings.encoder_precision))
        return
    work = Path(tempfile.mkdtemp(prefix="catalyst-bench-ingest-"))
    source = work / "corpus.jsonl"
    source.write_text("".join(lines))
    os.environ["CATALYST_SOURCE_ROOTS"] = str(work)  # the corpus copy is the ingest source
    print(f"{len(lines)} documents; {os.cpu_count()} cores")
    prepare_export(args.precision)
    rates: dict[str, tuple[float, float]] = {}
    try:
        for runtime in RUNTIMES:
            if args.only and runtime != args.only:
                continue
            os.environ["CATALYST_ENCODER_RUNTIME"] = runtime  # the run's resources read it
            precision = args.precision if runtime == "onnx" else "fp32"
            os.environ["CATALYST_ENCODER_PRECISION"] = precision
            home = work / f"home-{runtime}"
            before = reference_before(args.limit)
            rates[runtime] = one_runtime(runtime, source, home, texts, lines, precision, before)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if len(rates) == 2:
        (onnx, onnx_raw), (torch, _) = rates["onnx"], rates["torch"]
        print(
            f"\nonnx pipeline: {onnx / onnx_raw:.2f}x its raw encoder rate (target >= 0.9), "
            f"{onnx / torch:.2f}x the torch pipeline's rate (target >= 1)"
        )


def one_runtime(
    runtime: str,
    source: Path,
    home: Path,
    texts: list[str],
    lines: list[str],
    precision: str,
    before: float,
) -> tuple[float, float]:
    use_home(home)
    from catalyst_orchestration.ingest import run_ingest
    from catalyst_search.settings import get_settings

    get_settings.cache_clear()  # the run's resources read this runtime's home and encoder

    started = time.perf_counter()
    summary = run_ingest(source, tenant="default", settings=load_settings())
    first_s = time.perf_counter() - started
    assert summary["success"], summary
    again_s, again = 0.0, None
    if runtime == "onnx":
        started = time.perf_counter()
        again = run_ingest(source, tenant="default", settings=load_settings())
        again_s = time.perf_counter() - started
    after = encoder_docs_per_s(runtime, texts, precision)
    encoder = (before + after) / 2
    one_call = encoder_docs_per_s(runtime, texts, precision, bulk=False)
    pipeline = len(lines) / first_s
    print(
        f"\n[{runtime} {precision}] first ingest through Dagster: {first_s:8.1f} s  "
        f"{pipeline:8.1f} docs/s "
        f"({summary['chunks_written']} points, index {summary['index_version']})"
    )
    print(
        f"  inside the index step: waiting on the encoder {summary['embed_s']:.1f} s, "
        f"write {summary['write_s']:.1f} s, optimize+publish {summary['publish_s']:.1f} s "
        f"at {summary['chunks_written']} points"
    )
    if again is not None:
        print(
            f"  re-ingest, nothing changed: {again_s:8.1f} s  "
            f"({again['documents_unchanged']} unchanged, {again['chunks_written']} embedded)"
        )
    print(
        f"  raw dense encoder (same run): {encoder:8.1f} docs/s on {len(texts)} documents "
        f"as the index step runs it ({before:.1f} before the ingest, {after:.1f} after); "
        f"{one_call:.1f} one call at a time"
    )
    print(f"  pipeline / encoder ratio:     {pipeline / encoder:8.2f}")
    return pipeline, encoder


if __name__ == "__main__":
    main()
