"""Run one ingest through Dagster in this process: ``python -m catalyst_orchestration.ingest``.

``catalystctl ingest`` calls this (the search package never imports dagster). The run is
recorded in the Dagster instance under ``DAGSTER_HOME`` and appears in the UI like any other.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import dagster as dg

from catalyst_orchestration.defs.partitions import register_source
from catalyst_orchestration.lib.state_stores import open_state
from catalyst_search.auth.principal import TENANT_PATTERN, is_tenant_id
from catalyst_search.ingest_requests.contract import TENANT_TAG
from catalyst_search.ingest_requests.remote import source_kind
from catalyst_search.ingest_requests.sources import (
    InvalidSource,
    check_source,
    require_under_roots,
)
from catalyst_search.outbound import ResolutionUnavailable
from catalyst_search.settings import Settings, SettingsError, get_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def ensure_dagster_home(settings: Settings) -> Path:
    """Point ``DAGSTER_HOME`` at ``$CATALYST_HOME/dagster`` unless it is set, with our yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    template = PROJECT_ROOT / "dagster.yaml"
    if not (home / "dagster.yaml").exists() and template.exists():
        shutil.copyfile(template, home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def run_ingest(path: Path | str, *, tenant: str, settings: Settings) -> dict[str, Any]:
    """Register ``path`` (a folder or records file, or an s3:// or web URI) as a source for
    ``tenant`` and materialize its partition."""
    if not is_tenant_id(tenant):
        raise ValueError(f"tenant {tenant!r} does not match {TENANT_PATTERN}")
    from catalyst_orchestration.definitions import defs

    ensure_dagster_home(settings)
    instance = dg.DagsterInstance.get()
    state = open_state(settings)
    try:
        source = register_source(instance, state, tenant_id=tenant, uri=_uri(path))
    finally:
        state.close()
    job = defs().resolve_job_def("ingest")
    result = job.execute_in_process(
        instance=instance,
        partition_key=source.partition_key,
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        tags={TENANT_TAG: tenant},
        raise_on_error=False,
    )
    summary: dict[str, Any] = {
        "run_id": result.run_id,
        "success": result.success,
        "partition": source.partition_key,
    }
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        if materialization.asset_key == dg.AssetKey("index"):
            summary.update({k: v.value for k, v in materialization.metadata.items()})
    return summary


def _uri(path: Path | str) -> str:
    if isinstance(path, str) and source_kind(path) != "folder":
        return path
    return str(Path(path).resolve())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m catalyst_orchestration.ingest")
    parser.add_argument(
        "path", help="folder or JSONL(.gz) records file, s3://bucket/prefix, or a web URL"
    )
    parser.add_argument("--tenant", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        settings = get_settings()  # the run's resources read the same parsed settings
    except SettingsError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    tenant = args.tenant or settings.default_tenant
    if not is_tenant_id(tenant):
        sys.stderr.write(f"error: --tenant must match {TENANT_PATTERN}\n")
        return 2
    remote = source_kind(args.path) != "folder"
    if not remote and not Path(args.path).exists():
        sys.stderr.write(f"error: {args.path} does not exist\n")
        return 2
    try:
        if remote:
            check_source(args.path, rules=settings.source_rules(tenant), where="path")
        else:
            require_under_roots(Path(args.path), settings.source_roots_for(tenant), where="path")
    except InvalidSource as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except ResolutionUnavailable as exc:  # exits as catalystctl does for a service's 503
        sys.stderr.write(f"error: {exc}; try again shortly\n")
        return 7
    summary = run_ingest(args.path if remote else Path(args.path), tenant=tenant, settings=settings)
    keys = (
        "documents_seen",
        "documents_new",
        "documents_changed",
        "documents_unchanged",
        "documents_deleted",
        "documents_failed",
        "chunks_written",
        "chunks_deleted",
        "index_version",
        "duration_s",
    )
    sys.stdout.write(
        f"run {summary['run_id']} ({summary['partition']}): "
        f"{'succeeded' if summary['success'] else 'FAILED'}\n"
    )
    for key in keys:
        if key in summary:
            sys.stdout.write(f"  {key}: {summary[key]}\n")
    for failure in summary.get("failures", [])[:20]:
        sys.stdout.write(
            f"  failed {failure['location']}: {failure['class']} {failure['error']}: "
            f"{failure['message']}\n"
        )
    return 0 if summary["success"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
