"""Ingest through the service (a job for the Dagster daemon) or in-process; follow jobs."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from catalyst_search.cli.common import add_server, client_for
from catalyst_search.client import CatalystClient, CatalystError
from catalyst_search.ingest_requests.sources import InvalidSource, require_under_roots
from catalyst_search.settings import Settings


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.path).expanduser()
    if settings.ingest_mode == "sync":
        if not path.exists():
            sys.stderr.write(f"error: {path} does not exist\n")
            return 2
        try:
            roots = settings.source_roots_for(args.tenant or settings.default_tenant)
            require_under_roots(path, roots, where="path")
        except InvalidSource as exc:
            sys.stderr.write(f"error: {exc}\n")
            return 2
        return _ingest_in_process(
            path, args.tenant or settings.default_tenant, settings, wait=args.wait
        )
    if args.tenant and args.tenant != settings.default_tenant:
        sys.stderr.write(
            "error: --tenant applies to CATALYST_INGEST_MODE=sync; through the service a job "
            "belongs to the tenant the service acts for\n"
        )
        return 2
    with client_for(args, settings) as client:
        try:
            accepted = client.ingest([str(path.absolute())])
        except CatalystError as exc:
            sys.stderr.write(f"error: {exc.detail}\n")
            return 2
        held = " (the queue is unreachable: held in the local outbox)"
        held = held if accepted.dispatch == "outbox" else ""
        sys.stdout.write(f"job {accepted.job_id} queued ({path}){held}\n")
        if not args.wait:
            sys.stdout.write(
                f"follow it with: catalystctl jobs status {accepted.job_id} --follow\n"
            )
            return 0
        return _follow(client, accepted.job_id)


def _ingest_in_process(path: Path, tenant: str, settings: Settings, *, wait: bool) -> int:
    """CATALYST_INGEST_MODE=sync: run the Dagster job in a child process, no daemon needed.

    A child process because this package never imports Dagster; the run registers the source
    and its partition exactly as the ingest sensor does.
    """
    command = [sys.executable, "-m", "catalyst_orchestration.ingest", str(path.resolve())]
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
    sys.stdout.write(f"ingest of {path} started (pid {process.pid}); log: {log_path}\n")
    return 0


def _follow(client: CatalystClient, job_id: str, *, interval_s: float = 1.0) -> int:
    """Print progress until the job ends (``retrying`` is not an end); non-zero exit when it
    failed or was cancelled."""
    last = ""
    warned = False
    try:
        for job in client.watch_job(job_id, interval_s=interval_s):
            total = job.documents_total
            shown = "?" if total is None else total
            line = f"{job.status}: {job.documents_done}/{shown} documents"
            if line != last:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
                last = line
            if job.status == "queued" and not warned:
                reason = client.readiness().get("ingestion_detail")
                if reason:
                    sys.stderr.write(f"warning: {reason}\n")
                    warned = True
    except CatalystError as exc:
        sys.stderr.write(f"error: {_job_error(exc, job_id)}\n")
        return 2
    for run in job.sources:
        if run.step_retries or run.run_retries:
            sys.stdout.write(
                f"  {run.source}: {run.step_retries} step retries, {run.run_retries} run retries\n"
            )
        for failure in run.failures[:20]:
            sys.stdout.write(
                f"  failed {failure.location}: {failure.failure_class} {failure.error}: "
                f"{failure.message} (attempts: {failure.attempts})\n"
            )
        if run.error:
            sys.stdout.write(f"  run {run.run_id} failed: {run.error}\n")
    return 1 if job.status in ("failed", "cancelled") else 0


def _job_error(exc: CatalystError, job_id: str) -> str:
    return f"no ingest job {job_id}" if exc.status == 404 else exc.detail


def cmd_jobs_status(args: argparse.Namespace, settings: Settings) -> int:
    with client_for(args, settings) as client:
        if args.follow:
            return _follow(client, args.job_id)
        try:
            job = client.job(args.job_id)
        except CatalystError as exc:
            sys.stderr.write(f"error: {_job_error(exc, args.job_id)}\n")
            return 2
    sys.stdout.write(json.dumps(job.view, indent=2) + "\n")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    ingest = sub.add_parser("ingest", help="ingest a folder or JSONL(.gz) file through Dagster")
    ingest.add_argument("path")
    ingest.add_argument(
        "--tenant", help="tenant the documents belong to, in sync mode (default: default)"
    )
    ingest.add_argument("--wait", action="store_true", help="follow the job here until it ends")
    add_server(ingest)
    ingest.set_defaults(func=cmd_ingest)

    jobs = sub.add_parser("jobs", help="ingest jobs")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True)
    status = jobs_sub.add_parser("status", help="status and progress of a job")
    status.add_argument("job_id")
    status.add_argument("--follow", action="store_true", help="print progress until it ends")
    add_server(status)
    status.set_defaults(func=cmd_jobs_status)
