"""``catalystctl``: serve the search API; ingest, follow jobs, search and manage keys through it.

Every command but ``serve`` (and ``keys create --local``) speaks to a running service through
the SDK, so it goes through the same API, auth, limits and checks as any application; the
token comes from ``CATALYST_API_TOKEN``. ``CATALYST_INGEST_MODE=sync`` instead runs an ingest
through Dagster in a child process, with no service or daemon needed.
"""

from __future__ import annotations

import argparse
import sys

from catalyst_search.cli import ingest, keys, search, serve
from catalyst_search.settings import SettingsError, load_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="catalystctl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (ingest, serve, search, keys):
        module.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    result: int = args.func(args, settings)
    return result
