"""``catalystctl sources add|list|remove``: the sources the code location keeps in sync (its
sensors start a sync run when objects change; its nightly schedule re-syncs every one)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from catalyst_search.cli.common import OK, add_common, client_for, print_json
from catalyst_search.cli.render import table
from catalyst_search.ingest_requests.remote import source_kind
from catalyst_search.settings import Settings


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    uri = args.uri if source_kind(args.uri) != "folder" else str(Path(args.uri).absolute())
    with client_for(args, settings) as client:
        watch = client.watch_source(uri)
    if args.json:
        print_json(watch)
    else:
        sys.stdout.write(f"watching {watch['uri']} ({watch['kind']}) as {watch['watch_id']}\n")
    return OK


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    with client_for(args, settings) as client:
        watches = client.list_sources()
    if args.json:
        print_json({"sources": watches})
        return OK
    rows = [
        [
            w["watch_id"],
            w["kind"],
            w["uri"],
            time.strftime("%Y-%m-%d %H:%M", time.gmtime(w["created_at"])),
        ]
        for w in watches
    ]
    table(["ID", "KIND", "SOURCE", "SINCE (UTC)"], rows)
    return OK


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    with client_for(args, settings) as client:
        client.unwatch_source(args.watch_id)
    if args.json:
        print_json({"removed": args.watch_id})
    else:
        sys.stdout.write(f"no longer watching {args.watch_id}\n")
    return OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    sources = sub.add_parser("sources", help="sources kept in sync (folders, S3, web)")
    sources_sub = sources.add_subparsers(dest="sources_command", required=True)
    add = sources_sub.add_parser("add", help="watch a folder, s3://bucket/prefix or web page")
    add.add_argument("uri")
    add_common(add)
    add.set_defaults(func=cmd_add)
    listing = sources_sub.add_parser("list", help="the watched sources")
    add_common(listing)
    listing.set_defaults(func=cmd_list)
    remove = sources_sub.add_parser("remove", help="stop watching (what was ingested stays)")
    remove.add_argument("watch_id")
    add_common(remove)
    remove.set_defaults(func=cmd_remove)
