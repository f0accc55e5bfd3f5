"""``catalystctl keys create|list|revoke``: API keys, through the service (admin role).

``--local`` writes the key store of this host's settings directly: the way to mint the first
admin key of a deployment that accepts API keys only.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from typing import Any

import redis

from catalyst_search.auth.key_stores import open_keys
from catalyst_search.auth.keys import mint
from catalyst_search.auth.principal import ROLES, TENANT_PATTERN, is_tenant_id, parse_roles
from catalyst_search.cli.common import (
    OK,
    UNREACHABLE,
    UsageError,
    add_common,
    client_for,
    fail,
    print_json,
)
from catalyst_search.settings import Settings


def _roles(raw: str) -> list[str]:
    roles = sorted(parse_roles(raw))
    unknown = {r for r in raw.replace(",", " ").split()} - ROLES
    if unknown or not roles:
        raise UsageError(f"--roles takes some of {', '.join(sorted(ROLES))}, got {raw!r}")
    return roles


def cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    roles = _roles(args.roles)
    if not is_tenant_id(args.tenant):
        return fail(f"--tenant must match {TENANT_PATTERN}")
    if args.local:
        record, key = mint(args.tenant, tuple(roles), args.label)
        try:
            store = open_keys(settings)
            try:
                store.add(record)
            finally:
                store.close()
        except (redis.RedisError, sqlite3.Error, OSError) as exc:  # the key was not stored
            return fail(f"the key store could not be written: {exc}", UNREACHABLE)
        created: dict[str, Any] = {**record.public(), "key": key}
    else:
        with client_for(args, settings) as client:
            created = client.create_key(args.tenant, roles, label=args.label)
    print_json(created)
    sys.stderr.write("store the key now: it is not shown again\n")
    return OK


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    with client_for(args, settings) as client:
        keys = client.list_keys(args.tenant)
    print_json(keys)
    return OK


def cmd_revoke(args: argparse.Namespace, settings: Settings) -> int:
    with client_for(args, settings) as client:
        client.revoke_key(args.key_id)
    if args.json:
        print_json({"revoked": args.key_id})
    else:
        sys.stdout.write(f"revoked {args.key_id}\n")
    return OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    keys = sub.add_parser("keys", help="API keys (admin)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="a new key, printed once")
    create.add_argument("--tenant", required=True)
    create.add_argument("--roles", required=True, help="e.g. search,ingest")
    create.add_argument("--label", default="")
    create.add_argument(
        "--local", action="store_true", help="write this host's key store, not the service"
    )
    create.set_defaults(func=cmd_create)
    listing = keys_sub.add_parser("list", help="keys and their state, never the keys")
    listing.add_argument("--tenant")
    listing.set_defaults(func=cmd_list)
    revoke = keys_sub.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id")
    revoke.set_defaults(func=cmd_revoke)
    for parser in (create, listing, revoke):
        add_common(parser)  # keys are printed as JSON either way
