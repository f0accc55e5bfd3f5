"""``catalystctl doctor``: is everything a search and an ingest need in place?

It checks the settings and the config file here, then through the service: that it answers,
that the credential is accepted, that an index is loaded and holds the tenant's chunks, that
queued ingest jobs reach Dagster (the sensor's heartbeat), and the hosted rerank tiers; and,
from here, remote acquisition: the S3 buckets of the artifact store and the S3 source roots,
and Firecrawl with its key. Each check is ok, warn or fail, with what to do; exit 1 when any
fails.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict, dataclass
from typing import Literal

from catalyst_search.cli.common import FAILED, OK, add_common, client_for, print_json, server_url
from catalyst_search.cli.config import ConfigError, load_config
from catalyst_search.cli.render import table
from catalyst_search.client import CatalystClient, CatalystError, Forbidden, Unreachable
from catalyst_search.client.errors import shown_url
from catalyst_search.settings import Settings, SettingsError, load_settings


@dataclass
class Check:
    name: str
    state: Literal["ok", "warn", "fail"]
    detail: str


def _local(checks: list[Check]) -> Settings | None:
    try:
        settings = load_settings()
        checks.append(Check("settings", "ok", "CATALYST_* variables are valid"))
    except SettingsError as exc:
        checks.append(Check("settings", "fail", str(exc).replace("\n", " ")))
        settings = None
    try:
        config = load_config()
        found = f"{config.path}" if config.found else f"none at {config.path} (optional)"
        checks.append(Check("config file", "ok", found))
    except ConfigError as exc:
        checks.append(Check("config file", "fail", str(exc)))
    return settings


def _collection(settings: Settings, checks: list[Check]) -> None:
    """Which embedded index this host reads and writes: each collection has its own folder, so
    a service and a code location with different CATALYST_COLLECTION see different indexes."""
    if settings.index_backend != "embedded":
        return
    mine = settings.index_dir
    others = sorted(
        p.name
        for p in settings.home.glob("index*")
        if p.is_dir() and p != mine and (p / "CURRENT").exists()
    )
    detail = f"{settings.collection} in {mine}"
    if others:
        also = ", ".join(others)
        checks.append(Check("collection", "warn", f"{detail}; indexes of other collections: "
                            f"{also} (is CATALYST_COLLECTION the same everywhere?)"))  # fmt: skip
    else:
        checks.append(Check("collection", "ok", detail))


def _acquisition(settings: Settings, checks: list[Check]) -> None:
    """What the code location's resources check when they start (ingest_requests/preflight)."""
    if not (
        settings.artifact_store
        or settings.firecrawl_url
        or "s3://" in (settings.source_roots or "")
    ):
        return
    import boto3

    from catalyst_search.ingest_requests.preflight import preflight

    problems = preflight(settings, lambda: boto3.client("s3"))
    for problem in problems:
        checks.append(Check("acquisition", "fail", str(problem)))
    if not problems:
        checks.append(Check("acquisition", "ok", "S3 buckets and Firecrawl answer"))


def _remote(client: CatalystClient, checks: list[Check]) -> None:
    """The service's checks; an answer that is not what a CatalystIndex service answers (a
    proxy's 502, a body of another shape) is a failed check, not a traceback."""
    try:
        _service(client, checks)
    except CatalystError as exc:
        checks.append(Check("service", "fail", f"{shown_url(client.base_url)}: {exc}"))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # JSON, but not ours
        unexpected = f"unexpected answer ({type(exc).__name__}: {exc}); is it a CatalystIndex?"
        checks.append(Check("service", "fail", f"{shown_url(client.base_url)}: {unexpected}"))


def _service(client: CatalystClient, checks: list[Check]) -> None:
    try:
        healthy = client.health()
    except Unreachable as exc:
        checks.append(Check("service", "fail", exc.detail))
        return
    if not healthy:
        checks.append(Check("service", "fail", f"{shown_url(client.base_url)}/healthz: not ok"))
        return
    checks.append(Check("service", "ok", f"{shown_url(client.base_url)} answers"))
    readiness = client.readiness()
    if readiness.get("ready"):
        checks.append(Check("index", "ok", f"version {readiness['index_version']} loaded"))
    else:
        checks.append(Check("index", "warn", str(readiness.get("detail"))))
    if readiness.get("ingestion_dispatch") == "degraded":
        checks.append(Check("ingestion", "warn", str(readiness.get("ingestion_detail"))))
    else:
        checks.append(Check("ingestion", "ok", "the Dagster sensor takes queued jobs"))
    try:
        info = client.index_info()
    except Forbidden as exc:
        checks.append(Check("credential", "warn", f"no search role: {exc.detail}"))
        return
    except CatalystError as exc:
        checks.append(Check("credential", "fail", exc.detail))
        return
    checks.append(Check("credential", "ok", f"tenant {info['tenant_id']}"))
    if info["chunks"] == 0:
        checks.append(Check("tenant data", "warn", "no chunks of this tenant: ingest some"))
    for tier in info["rerank_tiers"]:
        if tier["hosted"]:
            detail = tier.get("detail") or f"circuit {tier['state']}"
            healthy = tier["state"] == "closed"
            checks.append(Check(f"rerank {tier['tier']}", "ok" if healthy else "warn", detail))


def cmd_doctor(args: argparse.Namespace, settings: Settings | None) -> int:
    checks: list[Check] = []
    settings = _local(checks)
    if settings is not None:
        _collection(settings, checks)
        _acquisition(settings, checks)
        try:
            client = client_for(args, settings)
        except ConfigError:  # reported above; go on with CATALYST_API_TOKEN alone
            token = os.environ.get("CATALYST_API_TOKEN")
            client = CatalystClient(args.server or settings.api_url, token=token)
        with client:
            _remote(client, checks)
    if args.json:
        print_json({"checks": [asdict(c) for c in checks]})
    else:
        if settings is not None:
            sys.stdout.write(f"service: {shown_url(server_url(args, settings))}\n")
        table(["CHECK", "STATE", "DETAIL"], [[c.name, c.state, c.detail] for c in checks])
    return FAILED if any(c.state == "fail" for c in checks) else OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    doctor = sub.add_parser("doctor", help="check settings, service, credential, index, daemon")
    add_common(doctor)
    doctor.set_defaults(func=cmd_doctor, settings_optional=True)
