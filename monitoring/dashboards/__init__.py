"""Every dashboard, by the file name it is generated into under docs/monitoring/dashboards."""

from monitoring.dashboards.auth import AUTH
from monitoring.dashboards.ingestion import INGESTION
from monitoring.dashboards.queue import QUEUE
from monitoring.dashboards.rerank import RERANK
from monitoring.dashboards.search import SEARCH_DASHBOARD
from monitoring.panels import Dashboard

DASHBOARDS: dict[str, Dashboard] = {
    "ingestion.json": INGESTION,
    "queue.json": QUEUE,
    "search.json": SEARCH_DASHBOARD,
    "rerank.json": RERANK,
    "auth.json": AUTH,
}
