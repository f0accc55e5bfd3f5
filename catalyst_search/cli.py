"""``catalystctl``: serve the search API; ingest, follow jobs and search through it (HTTP).

Every command but ``serve`` speaks to a running service through the SDK, so it goes through
the same API, limits and checks as any application. ``CATALYST_INGEST_MODE=sync`` instead runs
an ingest through Dagster in a child process, with no service or daemon needed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from catalyst_search.client import CatalystClient, CatalystError
from catalyst_search.options import Mode, Retrieval, Track, choices
from catalyst_search.settings import Settings, SettingsError, load_settings


def _parse_filter(items: list[str]) -> dict[str, Any]:
    """``--filter chapter=4 --filter icd_codes=E11.9,E11.65`` -> filters object."""
    filters: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise SystemExit(f"error: --filter takes KEY=VALUE[,VALUE...], got {item!r}")
        values = [v for v in value.split(",") if v]
        filters[key] = values if len(values) > 1 or key == "icd_codes" else values[0]
    return filters


def _client(args: argparse.Namespace, settings: Settings) -> CatalystClient:
    return CatalystClient(args.url or settings.api_url)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.path).expanduser()
    if settings.ingest_mode == "sync":
        if not path.exists():
            sys.stderr.write(f"error: {path} does not exist\n")
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
    with _client(args, settings) as client:
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
    """Print progress until the job ends; non-zero exit when it failed."""
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
        for failure in run.get("failures", [])[:20]:
            sys.stdout.write(
                f"  failed {failure.get('location')}: {failure.get('class')} "
                f"{failure.get('error')}: {failure.get('message')}\n"
            )
        if run.get("error"):
            sys.stdout.write(f"  run {run.get('run_id')} failed: {run['error']}\n")
    return 1 if job.status == "failed" else 0


def _job_error(exc: CatalystError, job_id: str) -> str:
    return f"no ingest job {job_id}" if exc.status == 404 else exc.detail


def cmd_jobs_status(args: argparse.Namespace, settings: Settings) -> int:
    with _client(args, settings) as client:
        if args.follow:
            return _follow(client, args.job_id)
        try:
            job = client.job(args.job_id)
        except CatalystError as exc:
            sys.stderr.write(f"error: {_job_error(exc, args.job_id)}\n")
            return 2
    sys.stdout.write(json.dumps(job.view, indent=2) + "\n")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from catalyst_search.api.app import create_app

    uvicorn.run(
        create_app(settings), host=args.host or settings.host, port=args.port or settings.port
    )
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    with _client(args, settings) as client:
        try:
            results = client.search(
                args.query,
                top_k=args.top_k,
                filters=_parse_filter(args.filter),
                mode=args.mode,
                track=args.track,
                retrieval=args.retrieval,
                debug=args.debug,
            )
        except CatalystError as exc:
            sys.stderr.write(f"error: {exc}\n")
            return 1
    if args.json or args.debug:
        payload = {**results.__dict__, "hits": [hit.__dict__ for hit in results.hits]}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return 0
    if not results.hits:
        sys.stdout.write("no results\n")
    for rank, hit in enumerate(results.hits, start=1):
        first_line = hit.text.strip().splitlines()[0] if hit.text.strip() else ""
        sys.stdout.write(f"{rank:>2}. {hit.score:.4f}  {hit.document_id}  {first_line[:100]}\n")
    degraded = f", degraded: {results.degradation_reason}" if results.degraded else ""
    sys.stdout.write(
        f"({len(results.hits)} results, {results.timings_ms.get('total', 0):.1f} ms, "
        f"index {results.index_version}, rerank {results.rerank_tier}{degraded})\n"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="catalystctl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    ingest = sub.add_parser("ingest", help="ingest a folder or JSONL(.gz) file through Dagster")
    ingest.add_argument("path")
    ingest.add_argument(
        "--tenant", help="tenant the documents belong to, in sync mode (default: default)"
    )
    ingest.add_argument("--wait", action="store_true", help="follow the job here until it ends")
    ingest.add_argument("--url", help="service URL (default: CATALYST_API_URL)")
    ingest.set_defaults(func=cmd_ingest)

    jobs = sub.add_parser("jobs", help="ingest jobs")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True)
    status = jobs_sub.add_parser("status", help="status and progress of a job")
    status.add_argument("job_id")
    status.add_argument("--follow", action="store_true", help="print progress until it ends")
    status.add_argument("--url", help="service URL (default: CATALYST_API_URL)")
    status.set_defaults(func=cmd_jobs_status)

    serve = sub.add_parser("serve", help="start the search service")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    search = sub.add_parser("search", help="search the running service")
    search.add_argument("query")
    search.add_argument("--top-k", type=int, default=10)
    search.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE")
    search.add_argument("--mode", choices=choices(Mode), default="economy")
    search.add_argument("--track", choices=choices(Track), default="text")
    search.add_argument("--retrieval", choices=choices(Retrieval), default="hybrid")
    search.add_argument("--debug", action="store_true", help="print the debug bundle as JSON")
    search.add_argument("--url", help="service URL (default: CATALYST_API_URL)")
    search.add_argument("--json", action="store_true", help="print the raw response")
    search.set_defaults(func=cmd_search)
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


if __name__ == "__main__":
    raise SystemExit(main())
