"""A local Prometheus and Pushgateway for developers: ``make monitoring``.

Prometheus (Debian's ``prometheus`` package) scrapes the search service and the Pushgateway
(``prometheus-pushgateway``), with the alert rules of docs/monitoring/alerts.yml loaded. Both
listen on loopback only and keep their data under ``$CATALYST_HOME/monitoring``. The tests start
the same two servers, with the same configuration, on free ports.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import requests
import yaml

RULES = Path(__file__).resolve().parent.parent / "docs" / "monitoring" / "alerts.yml"


class MissingBinary(RuntimeError):
    """A server binary is not installed (``make system-deps`` installs it)."""


def prometheus_config(
    *, services: list[str], pushgateway: str, scrape_interval: str = "15s"
) -> dict[str, Any]:
    """Scrape ``services`` (host:port of search replicas) and the Pushgateway; load the rules.

    ``honor_labels`` keeps the pushed ``job="catalyst_ingest"`` instead of the scrape job's name.
    """
    return {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {"job_name": "catalyst_search", "static_configs": [{"targets": services}]},
            {
                "job_name": "catalyst_pushgateway",
                "honor_labels": True,
                "static_configs": [{"targets": [pushgateway]}],
            },
        ],
    }


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise MissingBinary(f"{name} is not installed (make system-deps installs it)")
    return path


@contextmanager
def _serving(command: list[str], ready_url: str, *, what: str, log: Path | None) -> Iterator[str]:
    """Run ``command`` until the block ends; yields once ``ready_url`` answers 200."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(ready_url, timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start (exit code {process.poll()})")
            time.sleep(0.1)
        yield ready_url.rsplit("/-/", 1)[0]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            out.close()  # type: ignore[union-attr]


@contextmanager
def running_pushgateway(port: int, *, log: Path | None = None) -> Iterator[str]:
    """Debian's prometheus-pushgateway on loopback ``port``, in memory; yields its URL."""
    command = [_binary("prometheus-pushgateway"), f"--web.listen-address=127.0.0.1:{port}"]
    with _serving(command, f"http://127.0.0.1:{port}/-/ready", what="pushgateway", log=log) as url:
        yield url


@contextmanager
def running_prometheus(
    config: dict[str, Any], *, port: int, data_dir: Path, log: Path | None = None
) -> Iterator[str]:
    """Prometheus on loopback ``port`` with ``config``, storing under ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config_path = data_dir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    command = [
        _binary("prometheus"),
        f"--config.file={config_path}",
        f"--storage.tsdb.path={data_dir / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=7d",
    ]
    with _serving(command, f"http://127.0.0.1:{port}/-/ready", what="prometheus", log=log) as url:
        yield url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--service",
        action="append",
        help="host:port of a search replica to scrape (repeatable; default 127.0.0.1:8000)",
    )
    parser.add_argument("--prometheus-port", type=int, default=9090)
    parser.add_argument("--pushgateway-port", type=int, default=9091)
    parser.add_argument("--scrape-interval", default="15s")
    home = Path(os.environ.get("CATALYST_HOME", ".catalyst"))
    parser.add_argument("--dir", type=Path, default=home / "monitoring")
    args = parser.parse_args(argv)
    config = prometheus_config(
        services=args.service or ["127.0.0.1:8000"],
        pushgateway=f"127.0.0.1:{args.pushgateway_port}",
        scrape_interval=args.scrape_interval,
    )
    args.dir.mkdir(parents=True, exist_ok=True)
    try:
        with ExitStack() as stack:
            gateway = stack.enter_context(
                running_pushgateway(args.pushgateway_port, log=args.dir / "pushgateway.log")
            )
            prometheus = stack.enter_context(
                running_prometheus(
                    config,
                    port=args.prometheus_port,
                    data_dir=args.dir,
                    log=args.dir / "prometheus.log",
                )
            )
            sys.stdout.write(
                f"Prometheus {prometheus} (alerts: {prometheus}/alerts), Pushgateway {gateway}\n"
                f"Point ingestion at the gateway: export CATALYST_PUSHGATEWAY_URL={gateway}\n"
                "Dashboards to import into Grafana: docs/monitoring/dashboards/*.json\n"
                "Ctrl-C stops both.\n"
            )
            sys.stdout.flush()
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    except (MissingBinary, RuntimeError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
