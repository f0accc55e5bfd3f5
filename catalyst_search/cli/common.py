"""What every command that talks to the service shares: ``--server``, ``--json``, the client
(token from ``CATALYST_API_TOKEN`` or the config file), and the exit codes.

Exit codes: 0 done; 1 the work failed (a job ended failed or cancelled; doctor found a
problem); 2 bad usage or input (also 400, 413, 422); 3 the service cannot be reached; 4 not
allowed (401, 403); 5 not found (404); 6 conflict (409: e.g. cancelling an ended job); 7 the
service is busy or failing (429 after retries, 5xx).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from catalyst_search.cli.config import ConfigError, load_config
from catalyst_search.client import (
    CatalystClient,
    CatalystError,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    Unauthorized,
    Unreachable,
)
from catalyst_search.client.errors import shown_url
from catalyst_search.settings import Settings

OK, FAILED, USAGE, UNREACHABLE, DENIED, NOT_FOUND, CONFLICT, SERVICE = range(8)
EXIT_CODES = {
    Unreachable: UNREACHABLE,
    InvalidRequest: USAGE,
    Unauthorized: DENIED,
    Forbidden: DENIED,
    NotFound: NOT_FOUND,
    Conflict: CONFLICT,
}


class UsageError(ValueError):
    """A bad argument found after parsing; exit code 2 like argparse's own."""


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer from ``low`` to ``high``, refused with the range."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer {low}..{high}, got {text!r}"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {low}..{high}, got {value}")
        return value

    parse.__name__ = f"{low}..{high}"
    return parse


def add_common(parser: argparse.ArgumentParser, *, server: bool = True) -> None:
    """``--json`` on every command; ``--server`` on those that call the service."""
    parser.add_argument(
        "--json", action="store_true", help="print the API's JSON answer (for scripts)"
    )
    if server:
        parser.add_argument(
            "--server",
            "--url",
            dest="server",
            metavar="URL",
            help="service URL (default: CATALYST_API_URL, then the config file's server)",
        )


def server_url(args: argparse.Namespace, settings: Settings) -> str:
    if getattr(args, "server", None):
        return str(args.server)
    if "CATALYST_API_URL" in os.environ or "api_url" in settings.model_fields_set:
        return settings.api_url
    try:
        return load_config().server or settings.api_url
    except ConfigError:  # client_for reports it (doctor lists it as a check)
        return settings.api_url


def client_for(args: argparse.Namespace, settings: Settings) -> CatalystClient:
    """The SDK client; its token is ``CATALYST_API_TOKEN`` or the config file's ``token``."""
    token = os.environ.get("CATALYST_API_TOKEN") or load_config().token
    url = server_url(args, settings)
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"the server must be an http:// or https:// URL, got {shown_url(url)!r}")
    return CatalystClient(url, token=token)


def exit_code(error: CatalystError) -> int:
    for kind, code in EXIT_CODES.items():
        if isinstance(error, kind):
            return code
    return SERVICE


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2) + "\n")
    sys.stdout.flush()  # before any note on stderr, in that order when both go to one place


def fail(message: str, code: int = USAGE) -> int:
    """One line on stderr; the exit code to return."""
    sys.stderr.write(f"error: {message}\n")
    return code
