"""``catalystctl serve``: the search service under uvicorn; no open unauthenticated bind."""

from __future__ import annotations

import argparse
import sys

from catalyst_search.auth.network import is_loopback
from catalyst_search.settings import Settings


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    host = args.host or settings.host
    if not settings.auth_methods and not is_loopback(host):
        sys.stderr.write(
            f"error: refusing to serve on {host} with CATALYST_AUTH=disabled: anyone who can "
            "reach it would read every document. Set CATALYST_AUTH=jwt or apikey (see the "
            "README), or serve on 127.0.0.1\n"
        )
        return 2
    import uvicorn

    from catalyst_search.api.app import create_app

    # one process, one event loop (uvloop and httptools when installed): concurrent searches
    # share encoder calls in this process (docs/performance.md)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=args.port or settings.port,
        access_log=settings.access_log,
    )
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="start the search service")
    serve.add_argument("--host", help="bind address (default: CATALYST_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)
