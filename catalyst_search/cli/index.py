"""``catalystctl index info``: the served index, the caller's chunks in it, rerank tiers."""

from __future__ import annotations

import argparse
import sys

from catalyst_search.cli.common import OK, add_common, client_for, print_json
from catalyst_search.cli.render import table
from catalyst_search.settings import Settings


def cmd_info(args: argparse.Namespace, settings: Settings) -> int:
    with client_for(args, settings) as client:
        info = client.index_info()
    if args.json:
        print_json(info)
        return OK
    version = info["index_version"] or "none loaded (ingest documents first)"
    chunks = "-" if info["chunks"] is None else info["chunks"]
    lines = [
        f"index {version} ({info['backend']}, collection {info['collection']}, "
        f"fusion {info['fusion']})"
    ]
    if encoder := info.get("encoder"):  # a service older than the field has none
        lines.append(f"encoder {encoder['model']} {encoder['precision']} ({encoder['runtime']})")
    lines.append(f"tenant {info['tenant_id']}: {chunks} chunks")
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    rows = [
        [t["tier"], "hosted" if t["hosted"] else "local", t["state"], t.get("detail") or ""]
        for t in info["rerank_tiers"]
    ]
    table(["RERANK TIER", "WHERE", "STATE", "DETAIL"], rows)
    return OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    index = sub.add_parser("index", help="the served index")
    index_sub = index.add_subparsers(dest="index_command", required=True)
    info = index_sub.add_parser("info", help="version, encoder, your chunks, rerank tiers")
    add_common(info)
    info.set_defaults(func=cmd_info)
