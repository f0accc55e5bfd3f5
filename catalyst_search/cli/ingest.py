"""``catalystctl ingest``: a job for the Dagster daemon through the service (followed with a
progress bar with ``--wait``), or, with ``CATALYST_INGEST_MODE=sync``, a run in a child process."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from catalyst_search.auth.principal import TENANT_PATTERN, is_tenant_id
from catalyst_search.cli.common import OK, SERVICE, add_common, client_for, fail, print_json
from catalyst_search.cli.jobs import follow
from catalyst_search.client import CatalystClient
from catalyst_search.ingest_requests.remote import source_kind
from catalyst_search.ingest_requests.sources import (
    InvalidSource,
    check_source,
    require_under_roots,
)
from catalyst_search.outbound import ResolutionUnavailable
from catalyst_search.settings import Settings


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    remote = source_kind(args.path) != "folder"
    path = Path(args.path).expanduser()
    source = args.path if remote else str(path.absolute())
    if settings.ingest_mode == "sync":
        tenant = args.tenant or settings.default_tenant
        if not is_tenant_id(tenant):
            return fail(f"--tenant must match {TENANT_PATTERN}")
        if not remote and not path.exists():
            return fail(f"{path} does not exist")
        try:
            if remote:
                check_source(source, rules=settings.source_rules(tenant), where="path")
            else:
                require_under_roots(path, settings.source_roots_for(tenant), where="path")
        except InvalidSource as exc:
            return fail(str(exc))
        except ResolutionUnavailable as exc:  # as the service's 503 would
            return fail(f"{exc}; try again shortly", SERVICE)
        return _ingest_in_process(
            source if remote else str(path.resolve()), tenant, settings, wait=args.wait
        )
    if args.tenant and args.tenant != settings.default_tenant:
        return fail(
            "--tenant applies to CATALYST_INGEST_MODE=sync; through the service a job "
            "belongs to the tenant the service acts for"
        )
    with client_for(args, settings) as client:
        accepted = client.submit_ingest([source], webhook_url=args.webhook)
        if args.json and not args.wait:
            print_json(accepted.view)
            return OK
        if args.quiet:
            sys.stdout.write(accepted.job_id + "\n")
            return follow(client, accepted.job_id, as_json=False, quiet=True) if args.wait else OK
        if not args.json:
            held = " (the queue is unreachable: held in the local outbox)"
            held = held if accepted.dispatch == "outbox" else ""
            sys.stdout.write(f"job {accepted.job_id} queued ({source}){held}\n")
        if not args.wait:
            sys.stdout.write(f"follow it with: catalystctl jobs follow {accepted.job_id}\n")
            return OK
        _warn_when_stuck(client)
        return follow(client, accepted.job_id, as_json=args.json)


def _warn_when_stuck(client: CatalystClient) -> None:
    """Say on stderr when no daemon turns queued jobs into runs (the job would wait)."""
    reason = client.readiness().get("ingestion_detail")
    if reason:
        sys.stderr.write(f"warning: {reason}\n")


def _ingest_in_process(source: str, tenant: str, settings: Settings, *, wait: bool) -> int:
    """CATALYST_INGEST_MODE=sync: run the Dagster job in a child process, no daemon needed.

    A child process because this package never imports Dagster; the run registers the source
    and its partition exactly as the ingest sensor does.
    """
    command = [sys.executable, "-m", "catalyst_orchestration.ingest", source]
    command += ["--tenant", tenant]
    if wait:
        return subprocess.call(command)
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"ingest-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    sys.stdout.write(f"ingest of {source} started (pid {process.pid}); log: {log_path}\n")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    ingest = sub.add_parser(
        "ingest",
        help="ingest a folder, JSONL(.gz) file, s3://bucket/prefix or web page through Dagster",
    )
    ingest.add_argument(
        "path",
        help="a folder or records file under the source roots, s3://bucket/prefix, https://page, "
        "firecrawl+https://page (scraped by Firecrawl) or crawl+https://site (crawled)",
    )
    ingest.add_argument(
        "--tenant", help="tenant the documents belong to, in sync mode (default: default)"
    )
    ingest.add_argument("--wait", action="store_true", help="follow the job here until it ends")
    ingest.add_argument("--webhook", metavar="URL", help="told (signed POST) when the job ends")
    ingest.add_argument(
        "-q", "--quiet", action="store_true", help="print only the job id (JOB=$(catalystctl ...))"
    )
    add_common(ingest)
    ingest.set_defaults(func=cmd_ingest)
