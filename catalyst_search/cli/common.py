"""What every command that talks to the service shares: ``--url`` and the SDK client."""

from __future__ import annotations

import argparse

from catalyst_search.client import CatalystClient
from catalyst_search.settings import Settings


def add_server(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="service URL (default: CATALYST_API_URL)")


def client_for(args: argparse.Namespace, settings: Settings) -> CatalystClient:
    """The SDK client; its token comes from ``CATALYST_API_TOKEN`` (a JWT or an API key)."""
    return CatalystClient(args.url or settings.api_url)
