"""Where the ingestion counters are pushed."""

from __future__ import annotations

import logging

import dagster as dg
from prometheus_client import push_to_gateway

from catalyst_orchestration.defs.resources.common import _settings
from catalyst_orchestration.lib.run_metrics import JOB, IngestTotals, totals_registry
from catalyst_search.settings.text import without_credentials


class PushgatewayResource(dg.ConfigurableResource):
    """Where the ingestion counters are pushed (``CATALYST_PUSHGATEWAY_URL``); unset, nowhere."""

    url: str | None = None  # CATALYST_PUSHGATEWAY_URL
    timeout_s: float = 5.0
    #: CATALYST_PUSHGATEWAY_SETTLE_S: a new series is pushed at 0 and gets its counts this many
    #: seconds later (at least two scrape intervals of the gateway; 0: at once), see run_metrics
    settle_s: int = 60

    @property
    def _url(self) -> str | None:
        return self.url or _settings().pushgateway_url

    @property
    def configured(self) -> bool:
        return bool(self._url)

    def push_totals(self, totals: IngestTotals, *, log: logging.Logger) -> bool:
        """Replace the one ``job="catalyst_ingest"`` group with ``totals``; False (and a
        warning) when the gateway cannot be reached: monitoring never fails ingestion."""
        url = self._url
        if not url:
            return False
        try:
            push_to_gateway(url, job=JOB, registry=totals_registry(totals), timeout=self.timeout_s)
        except OSError as exc:
            log.warning(f"could not push ingest metrics to {without_credentials(url)}: {exc}")
            return False
        return True
