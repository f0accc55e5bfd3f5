"""``catalystctl``: serve the search API; ingest, follow and steer jobs, search, check and
manage keys through it.

Every command but ``serve`` (and ``keys create --local``) speaks to a running service through
the SDK, so it goes through the same API, auth, limits and checks as any application. The
service is ``--server``, else ``CATALYST_API_URL``, else the config file's ``server``; the token
is ``CATALYST_API_TOKEN``, else the config file's ``token`` (see cli/config.py).
``CATALYST_INGEST_MODE=sync`` instead runs an ingest through Dagster in a child process.
``--json`` prints the API's answer; errors are one line on stderr with the exit codes of
cli/common.py (docs/cli.md lists them).
"""

from __future__ import annotations

import argparse
import sys

import httpx

from catalyst_search.cli import (
    doctor,
    feedback,
    index,
    ingest,
    jobs,
    keys,
    search,
    serve,
    sources,
)
from catalyst_search.cli.common import SERVICE, USAGE, UsageError, exit_code, fail
from catalyst_search.cli.config import ConfigError
from catalyst_search.client import CatalystError, Unauthorized
from catalyst_search.settings import SettingsError, load_settings

EPILOG = (
    "exit codes: 0 done, 1 the work failed, 2 bad usage or input, 3 service unreachable, "
    "4 not allowed, 5 not found, 6 conflict, 7 service busy or failing"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="catalystctl",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (ingest, jobs, sources, search, feedback, index, doctor, keys, serve):
        module.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        if not getattr(args, "settings_optional", False):
            return fail(str(exc))
        settings = None
    try:
        result: int = args.func(args, settings)
    except CatalystError as exc:
        hint = ""
        if isinstance(exc, Unauthorized):
            hint = " (set CATALYST_API_TOKEN, or token in the config file)"
        return fail(f"{exc.detail}{hint}", exit_code(exc))
    except (UsageError, ConfigError, httpx.InvalidURL) as exc:
        return fail(str(exc), USAGE)
    except ValueError as exc:  # an answer that is not the API's JSON (a proxy's page)
        return fail(f"the service's answer could not be read: {exc}", SERVICE)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    return result
