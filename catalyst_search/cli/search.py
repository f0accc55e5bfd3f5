"""``catalystctl search``: ranked results, a score breakdown with ``--debug``, or the API's
answer with ``--json``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from catalyst_search.cli.common import (
    OK,
    UsageError,
    add_common,
    bounded_int,
    client_for,
    print_json,
)
from catalyst_search.cli.render import table
from catalyst_search.options import Mode, Retrieval, Track, choices
from catalyst_search.settings import Settings


def _parse_filter(items: list[str]) -> dict[str, Any]:
    """``--filter chapter=4 --filter icd_codes=E11.9,E11.65`` -> filters object."""
    filters: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise UsageError(f"--filter takes KEY=VALUE[,VALUE...], got {item!r}")
        values = [v for v in value.split(",") if v]
        if not values:
            raise UsageError(f"--filter {key}= names no value, got {item!r}")
        filters[key] = values if len(values) > 1 or key == "icd_codes" else values[0]
    return filters


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    with client_for(args, settings) as client:
        results = client.search(
            args.query,
            top_k=args.top_k,
            filters=_parse_filter(args.filter),
            mode=args.mode,
            track=args.track,
            retrieval=args.retrieval,
            debug=args.debug,
        )
    if args.json:  # exactly what the HTTP API answered
        print_json(results.response)
        return OK
    if not results.hits:
        sys.stdout.write("no results\n")
    for rank, hit in enumerate(results.hits, start=1):
        first_line = hit.text.strip().splitlines()[0] if hit.text.strip() else ""
        sys.stdout.write(f"{rank:>2}. {hit.score:.4f}  {hit.document_id}  {first_line[:100]}\n")
    degraded = f", degraded: {results.degradation_reason}" if results.degraded else ""
    sys.stdout.write(
        f"({len(results.hits)} results, {results.timings_ms.get('total', 0):.1f} ms, "
        f"index {results.index_version}, rerank {results.rerank_tier}{degraded})\n"
    )
    if args.debug:
        _score_breakdown(results.response.get("debug") or {})
    return OK


def _score(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _score_breakdown(debug: dict[str, Any]) -> None:
    """Per result: each leg's rank and score, the fused score and the rerank score."""
    rows = []
    for n, row in enumerate(debug.get("results", []), start=1):
        dense, sparse = row.get("dense") or {}, row.get("sparse") or {}
        rows.append(
            [
                n,
                row.get("document_id"),
                dense.get("rank"),
                _score(dense.get("score")),
                sparse.get("rank"),
                _score(sparse.get("score")),
                _score(row.get("fused_score")),
                _score(row.get("rerank_score")),
                row.get("rerank_tier") or "",
            ]
        )
    columns = ["#", "DOCUMENT", "DENSE #", "DENSE", "SPARSE #", "SPARSE", "FUSED", "RERANK", "TIER"]
    table(columns, rows, title="score breakdown")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    search = sub.add_parser("search", help="search the running service")
    search.add_argument("query")
    search.add_argument("--top-k", type=bounded_int(1, 100), default=10, metavar="1..100")
    search.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE")
    search.add_argument("--mode", choices=choices(Mode), default="economy")
    search.add_argument("--track", choices=choices(Track), default="text")
    search.add_argument("--retrieval", choices=choices(Retrieval), default="hybrid")
    search.add_argument(
        "--debug", action="store_true", help="explain the ranking: a score breakdown per result"
    )
    add_common(search)
    search.set_defaults(func=cmd_search)
