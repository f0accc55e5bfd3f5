"""The vocabulary of our dashboards: a panel is a title, its PromQL, a unit and what "bad" is.

Dashboards are declared as data (``monitoring.dashboards``) and built into Grafana JSON with
the Grafana Foundation SDK, so adding a panel is adding one ``Panel(...)`` line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from grafana_foundation_sdk.builders import dashboard as grafana
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
RATE = "$__rate_interval"  # Grafana picks a window of at least four scrape intervals


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    """One panel. ``bad`` says what a person watching it should worry about."""

    title: str
    queries: tuple[Query, ...]
    bad: str
    unit: str = "short"
    kind: Literal["timeseries", "stat"] = "timeseries"
    width: int = 12


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    rows: tuple[Row, ...]
    tenant_variable: str | None = None  # a metric whose tenant_id values fill $tenant
    tags: tuple[str, ...] = field(default=("catalyst",))


def q(expr: str, legend: str = "") -> Query:
    return Query(" ".join(expr.split()), legend)


def _panel(spec: Panel, panel_id: int) -> Any:
    builder: Any = timeseries.Panel() if spec.kind == "timeseries" else stat.Panel()
    builder = (
        builder.id(panel_id)
        .title(spec.title)
        .description(f"Bad: {spec.bad}")
        .datasource(DATASOURCE)
        .unit(spec.unit)
        .height(8)
        .span(spec.width)
    )
    for n, query in enumerate(spec.queries):
        target = prometheus.Dataquery().expr(query.expr).ref_id(chr(ord("A") + n))
        if query.legend:
            target = target.legend_format(query.legend)
        builder = builder.with_target(target)
    return builder


def build(spec: Dashboard) -> dict[str, Any]:
    """The Grafana dashboard JSON model of ``spec``."""
    board = (
        grafana.Dashboard(spec.title)
        .uid(spec.uid)
        .description(spec.description)
        .tags(list(spec.tags))
        .refresh("30s")
        .time("now-6h", "now")
        .with_variable(
            grafana.DatasourceVariable("datasource").label("Prometheus").type("prometheus")
        )
    )
    if spec.tenant_variable:
        board = board.with_variable(
            grafana.QueryVariable("tenant")
            .label("Tenant")
            .datasource(DATASOURCE)
            .query(f"label_values({spec.tenant_variable}, tenant_id)")
            .multi(True)
            .include_all(True)
            .all_value(".*")
        )
    panel_id = 1
    for row in spec.rows:
        board = board.with_row(grafana.Row(row.title).id(panel_id))
        panel_id += 1
        for panel in row.panels:
            board = board.with_panel(_panel(panel, panel_id))
            panel_id += 1
    model: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    return model


def render(spec: Dashboard) -> str:
    """``build(spec)`` as the bytes checked in under ``docs/monitoring/dashboards``."""
    return json.dumps(build(spec), indent=2, sort_keys=True) + "\n"


def panel_queries(model: dict[str, Any]) -> list[tuple[str, str]]:
    """``(panel title, PromQL)`` of every target of a dashboard JSON model."""
    found = []
    for panel in model.get("panels", []):
        for target in panel.get("targets") or []:
            found.append((panel["title"], target["expr"]))
    return found
