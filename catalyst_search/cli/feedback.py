"""``catalystctl feedback submit|analytics|tune|boosts``: feedback and the boosts it earns."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from catalyst_search.cli.common import FAILED, OK, USAGE, add_common, client_for, print_json
from catalyst_search.cli.render import table
from catalyst_search.settings import Settings


def cmd_submit(args: argparse.Namespace, settings: Settings) -> int:
    with client_for(args, settings) as client:
        recorded = client.submit_feedback(
            args.query_id,
            rating=args.rating,
            chunk_id=None if args.document else args.target,
            document_id=args.target if args.document else None,
            event="click" if args.click else "vote",
            comment=args.comment,
        )
    if args.json:
        print_json(recorded.__dict__)
    else:
        done = "recorded" if recorded.recorded else "already recorded (counted once)"
        sys.stdout.write(f"feedback on rank {recorded.rank} {done}: {recorded.event_id}\n")
    return OK


def _rate(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


def cmd_analytics(args: argparse.Namespace, settings: Settings) -> int:
    with client_for(args, settings) as client:
        report = client.feedback_analytics(start=args.start, end=args.end, bucket=args.bucket)
    if args.json:
        print_json(report.view)
        return OK
    rows = [
        [b.start[:16].replace("T", " "), b.searches, b.feedback, _rate(b.positive_rate),
         _rate(b.click_through_rate), _rate(b.zero_result_rate)]
        for b in report.buckets
    ]  # fmt: skip
    columns = ["BUCKET (UTC)", "SEARCHES", "FEEDBACK", "POSITIVE", "CLICK-THROUGH", "ZERO RESULTS"]
    table(columns, rows)
    worst = [[q["query"], q["searches"], q["negative"]] for q in report.worst_queries]
    if worst:
        table(["WORST QUERY", "SEARCHES", "NEGATIVE"], worst)
    moved = [[d["document_id"], d["multiplier"], d["evidence"]]
             for d in report.most_boosted + report.most_demoted]  # fmt: skip
    if moved:
        table(["DOCUMENT", "MULTIPLIER", "EVIDENCE"], moved)
    sys.stdout.write(f"boosts in force: {report.boost_version or 'none'}\n")
    return OK


def cmd_tune(args: argparse.Namespace, settings: Settings) -> int:
    """Drain the feedback log and tune now, in a child process (this package never imports
    Dagster): exit 0 when the new boosts went live, 1 when the quality check kept them back."""
    command = [sys.executable, "-m", "catalyst_orchestration.tune"]
    if args.wait:
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode == 2 or not done.stdout.strip():
            sys.stderr.write(done.stderr[-2000:])
            sys.stderr.write("error: the tuning run failed\n")
            return USAGE if done.returncode == 2 else FAILED
        sys.stdout.write(done.stdout)
        return OK if done.returncode == 0 else FAILED
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"tune-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
    sys.stdout.write(f"tuning started (pid {process.pid}); log: {log_path}\n")
    return OK


def cmd_boosts(args: argparse.Namespace, settings: Settings) -> int:
    with client_for(args, settings) as client:
        if args.activate:
            activated = client.activate_boosts(args.activate)
            if args.json:
                print_json(activated)
            else:
                sys.stdout.write(f"boosts {activated['version']} are in force\n")
            return OK
        versions = client.boost_versions()
    if args.json:
        print_json(versions)
        return OK
    rows = [
        [v["version"], "live" if v["live"] else "", v["stats"].get("documents_boosted", ""),
         v["stats"].get("documents_demoted", ""), v["stats"].get("events", "")]
        for v in versions
    ]  # fmt: skip
    table(["VERSION", "", "BOOSTED", "DEMOTED", "EVENTS"], rows)
    return OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    feedback = sub.add_parser("feedback", help="feedback on results, analytics, boosts")
    feedback_sub = feedback.add_subparsers(dest="feedback_command", required=True)

    submit = feedback_sub.add_parser("submit", help="feedback on one result of a search")
    submit.add_argument("query_id", help="the search's query_id")
    submit.add_argument("target", help="the result's chunk_id (a document id with --document)")
    submit.add_argument("--rating", type=int, choices=[1, -1], required=True)
    submit.add_argument("--document", action="store_true", help="TARGET is a document id")
    submit.add_argument("--click", action="store_true", help="a click, not a vote (rating 1)")
    submit.add_argument("--comment", default="")
    submit.set_defaults(func=cmd_submit)

    analytics = feedback_sub.add_parser("analytics", help="searches and feedback over time")
    analytics.add_argument("--from", dest="start", help="ISO time (default: 7 days ago)")
    analytics.add_argument("--to", dest="end", help="ISO time (default: now)")
    analytics.add_argument("--bucket", choices=["hour", "day", "week"], default="day")
    analytics.set_defaults(func=cmd_analytics)

    tune = feedback_sub.add_parser("tune", help="drain feedback and tune boosts now")
    tune.add_argument("--wait", action="store_true", help="wait and print the outcome")
    tune.set_defaults(func=cmd_tune)

    boosts = feedback_sub.add_parser("boosts", help="boost versions; --activate to roll back")
    boosts.add_argument("--activate", metavar="VERSION", help="put this version in force (admin)")
    boosts.set_defaults(func=cmd_boosts)
    for parser in (submit, analytics, boosts):
        add_common(parser)
    add_common(tune, server=False)
