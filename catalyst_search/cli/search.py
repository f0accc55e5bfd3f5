"""Search the running service and print ranked results (or the raw response)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from catalyst_search.cli.common import add_server, client_for
from catalyst_search.client import CatalystError
from catalyst_search.options import Mode, Retrieval, Track, choices
from catalyst_search.settings import Settings


def _parse_filter(items: list[str]) -> dict[str, Any]:
    """``--filter chapter=4 --filter icd_codes=E11.9,E11.65`` -> filters object."""
    filters: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise SystemExit(f"error: --filter takes KEY=VALUE[,VALUE...], got {item!r}")
        values = [v for v in value.split(",") if v]
        filters[key] = values if len(values) > 1 or key == "icd_codes" else values[0]
    return filters


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    with client_for(args, settings) as client:
        try:
            results = client.search(
                args.query,
                top_k=args.top_k,
                filters=_parse_filter(args.filter),
                mode=args.mode,
                track=args.track,
                retrieval=args.retrieval,
                debug=args.debug,
            )
        except CatalystError as exc:
            sys.stderr.write(f"error: {exc}\n")
            return 1
    if args.json or args.debug:  # exactly what the HTTP API answered
        sys.stdout.write(json.dumps(results.response, indent=2) + "\n")
        return 0
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
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    search = sub.add_parser("search", help="search the running service")
    search.add_argument("query")
    search.add_argument("--top-k", type=int, default=10)
    search.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE")
    search.add_argument("--mode", choices=choices(Mode), default="economy")
    search.add_argument("--track", choices=choices(Track), default="text")
    search.add_argument("--retrieval", choices=choices(Retrieval), default="hybrid")
    search.add_argument("--debug", action="store_true", help="print the debug bundle as JSON")
    search.add_argument("--json", action="store_true", help="print the API's answer as JSON")
    add_server(search)
    search.set_defaults(func=cmd_search)
