"""``catalystctl jobs list|status|follow|cancel|retry``: ingest jobs through the service."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime

from catalyst_search.cli.common import (
    FAILED,
    OK,
    add_common,
    bounded_int,
    client_for,
    print_json,
)
from catalyst_search.cli.render import JobProgress, table
from catalyst_search.client import TERMINAL, CatalystClient, IngestJob, JobEvent
from catalyst_search.settings import Settings

STATUSES = ["queued", "running", "retrying", "succeeded", "completed_with_errors", "failed",
            "cancelled"]  # fmt: skip
#: a progress redraw reads the job at most this often
REFRESH_S = 0.5


def when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


def ended_code(status: str) -> int:
    """0 for a job that did its work (failed documents are listed, not fatal), 1 otherwise."""
    return FAILED if status in ("failed", "cancelled") else OK


SHOWN_FAILURES = 20


def _total(total: int | None) -> str:
    return "?" if total is None else str(total)  # 0 is a total: an empty source


def describe(job: IngestJob) -> None:
    """A job for people: status, progress, its sources, failures and webhooks."""
    shown = "?" if job.documents_total is None else job.documents_total
    sys.stdout.write(f"job {job.job_id}: {job.status}, {job.documents_done}/{shown} documents\n")
    rows = [
        [s.source, s.status, s.attempts, s.step_retries, s.documents_done, s.run_url or ""]
        for s in job.sources
    ]
    table(["SOURCE", "STATUS", "ATTEMPTS", "STEP RETRIES", "DOCUMENTS", "RUN"], rows)
    for source in job.sources:
        if source.error:
            sys.stdout.write(f"  {source.source}: {source.error}\n")
    for failure in job.failures[:SHOWN_FAILURES]:
        sys.stdout.write(
            f"  failed {failure.location}: {failure.failure_class} {failure.error}: "
            f"{failure.message} (attempts: {failure.attempts})\n"
        )
    failed = sum(s.failures_total for s in job.sources)
    if failed > SHOWN_FAILURES:
        sys.stdout.write(
            f"  ... {failed} failed documents in all (`catalystctl jobs follow {job.job_id} "
            "--json` replays the first 100 of each run as document_failed events)\n"
        )
    for hook in job.view.get("webhooks", []):
        sys.stdout.write(
            f"  webhook {hook['url']}: {hook['state']} after {hook['attempts']} attempts"
            + (f" ({hook['last_error']})" if hook.get("last_error") else "")
            + "\n"
        )


def follow(client: CatalystClient, job_id: str, *, as_json: bool, quiet: bool = False) -> int:
    """Follow the job's events to its end (polling where no stream comes through); a progress
    bar or lines for people, one JSON event per line with ``--json``, nothing when ``quiet``.
    Exit 1 when it failed or was cancelled; ``retrying`` is not an end."""
    if quiet:
        return ended_code(client.wait_for_job(job_id).status)
    if as_json:
        status = ""
        for event in client.events(job_id):
            sys.stdout.write(json.dumps(_event_json(event)) + "\n")
            sys.stdout.flush()
            status = event.data.get("status", "") if event.kind == "job_finished" else status
        return ended_code(status)
    progress, read_at = JobProgress(job_id), 0.0
    try:
        for event in client.events(job_id):
            if event.kind == "run_started" and event.data.get("attempt", 1) > 1:
                progress.note(f"retrying {event.data['source']}: attempt {event.data['attempt']}")
            elif event.kind == "run_ended" and event.data.get("status") == "retrying":
                progress.note(f"run of {event.data['source']} failed; Dagster retries it")
            if event.kind != "job_finished" and time.monotonic() - read_at < REFRESH_S:
                continue
            job, read_at = client.job(job_id), time.monotonic()
            progress.update(job.status, job.documents_done, job.documents_total)
    finally:
        progress.close()
    job = client.job(job_id)
    describe(job)
    return ended_code(job.status)


def _event_json(event: JobEvent) -> dict:
    return {"id": event.id, "kind": event.kind, "at": event.at, "data": event.data}


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    with client_for(args, settings) as client:
        page = client.list_jobs(status=args.status, limit=args.limit, cursor=args.cursor)
    if args.json:
        print_json(page.view)
        return OK
    rows = [
        [j.job_id, j.status, f"{j.documents_done}/{_total(j.documents_total)}", j.sources,
         when(j.created_at)]
        for j in page.jobs
    ]  # fmt: skip
    table(["JOB", "STATUS", "DOCUMENTS", "SOURCES", "CREATED (UTC)"], rows)
    if page.next_cursor is not None:
        sys.stdout.write(f"more: catalystctl jobs list --cursor {page.next_cursor}\n")
    return OK


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    with client_for(args, settings) as client:
        if args.follow:
            return follow(client, args.job_id, as_json=args.json)
        job = client.job(args.job_id)
    if args.json:
        print_json(job.view)
    else:
        describe(job)
    return OK


def cmd_follow(args: argparse.Namespace, settings: Settings) -> int:
    with client_for(args, settings) as client:
        return follow(client, args.job_id, as_json=args.json)


def cmd_cancel(args: argparse.Namespace, settings: Settings) -> int:
    with client_for(args, settings) as client:
        job = client.cancel_job(args.job_id)
    if args.json:
        print_json(job.view)
    elif job.status in TERMINAL:
        sys.stdout.write(f"job {job.job_id} cancelled\n")
    else:
        sys.stdout.write(f"job {job.job_id}: cancel requested; its runs are being terminated\n")
    return OK


def cmd_retry(args: argparse.Namespace, settings: Settings) -> int:
    with client_for(args, settings) as client:
        accepted = client.retry_job(args.job_id)
        if args.json and not args.wait:
            print_json(accepted.view)
            return OK
        if args.quiet:
            sys.stdout.write(accepted.job_id + "\n")
        elif not args.json:
            sys.stdout.write(f"job {accepted.job_id} queued (retry of {args.job_id})\n")
        if not args.wait:
            return OK
        return follow(client, accepted.job_id, as_json=args.json, quiet=args.quiet)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    jobs = sub.add_parser("jobs", help="ingest jobs: list, status, follow, cancel, retry")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True)

    listing = jobs_sub.add_parser("list", help="the tenant's jobs, newest first")
    listing.add_argument("--status", choices=STATUSES, help="only jobs in this state")
    listing.add_argument("--limit", type=bounded_int(1, 100), default=20, metavar="1..100")
    listing.add_argument("--cursor", help="the next page (the 'more:' hint)")
    listing.set_defaults(func=cmd_list)

    status = jobs_sub.add_parser("status", help="status, progress, failures of a job")
    status.add_argument("job_id")
    status.add_argument("--follow", action="store_true", help="follow it to its end")
    status.set_defaults(func=cmd_status)

    following = jobs_sub.add_parser("follow", help="follow a job's events to its end")
    following.add_argument("job_id")
    following.set_defaults(func=cmd_follow)

    cancel = jobs_sub.add_parser("cancel", help="cancel a job (its runs are terminated)")
    cancel.add_argument("job_id")
    cancel.set_defaults(func=cmd_cancel)

    retry = jobs_sub.add_parser("retry", help="a new job for what failed in an ended job")
    retry.add_argument("job_id")
    retry.add_argument("--wait", action="store_true", help="follow the new job to its end")
    retry.add_argument("-q", "--quiet", action="store_true", help="print only the new job id")
    retry.set_defaults(func=cmd_retry)
    for parser in (listing, status, following, cancel, retry):
        add_common(parser)
