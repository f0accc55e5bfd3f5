"""The monitoring files hold together: promtool accepts and unit-tests every alert, every alert
has a runbook entry, the dashboards are what the generator writes, every metric is documented."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import yaml
from prometheus_client.metrics import MetricWrapperBase

from catalyst_orchestration.lib.run_metrics import IngestTotals, RunFigures, totals_registry
from catalyst_search.metrics import SearchMetrics
from monitoring.dashboards import DASHBOARDS
from monitoring.generate import stale
from monitoring.panels import render
from tests.conftest import ROOT
from tests.helpers.services import require

DOCS = ROOT / "docs" / "monitoring"
ALERTS = DOCS / "alerts.yml"


def _promtool(*args: str) -> subprocess.CompletedProcess:
    require(shutil.which("promtool") is not None, "promtool (Debian's prometheus) is missing")
    return subprocess.run(
        ["promtool", *args], cwd=DOCS, capture_output=True, text=True, timeout=120
    )


def _alerts() -> dict[str, dict]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def test_promtool_accepts_the_alert_rules():
    result = _promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in result.stdout


def test_every_alert_fires_and_resolves_in_promtool_unit_tests():
    result = _promtool("test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    cases = yaml.safe_load((DOCS / "alerts.test.yml").read_text())["tests"]
    seen: dict[str, list[bool]] = {}
    for case in cases:
        for check in sorted(case["alert_rule_test"], key=lambda c: _minutes(c["eval_time"])):
            seen.setdefault(check["alertname"], []).append(bool(check["exp_alerts"]))
    for alert in _alerts():
        firing = seen.get(alert, [])
        assert True in firing, f"{alert} never fires in alerts.test.yml"
        assert False in firing[firing.index(True) :], f"{alert} never resolves after firing"


def _minutes(duration: str) -> int:
    hours, _, rest = duration.rpartition("h")
    return int(hours or 0) * 60 + int(rest.rstrip("m") or 0)


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors of a Markdown file's headings."""
    headings = re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^a-z0-9 _-]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_alert_links_to_its_runbook_entry():
    anchors = _anchors((DOCS / "runbook.md").read_text())
    for name, rule in _alerts().items():
        path, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert path == "docs/monitoring/runbook.md" and anchor in anchors, name
        assert "Why" in rule["annotations"]["description"], f"{name} does not say why"


def test_dashboards_on_disk_equal_what_the_generator_writes():
    assert stale() == [], "run: make dashboards"


def test_a_hand_edited_dashboard_is_noticed(tmp_path: Path):
    for name, spec in DASHBOARDS.items():
        (tmp_path / name).write_text(render(spec))
    assert stale(tmp_path) == []
    edited = json.loads((tmp_path / "search.json").read_text())
    edited["panels"][1]["title"] = "tweaked in the Grafana UI"
    (tmp_path / "search.json").write_text(json.dumps(edited))
    (tmp_path / "orphan.json").write_text("{}")
    assert stale(tmp_path) == ["orphan.json", "search.json"]


def test_every_panel_says_what_bad_looks_like():
    for name in DASHBOARDS:
        model = json.loads((DOCS / "dashboards" / name).read_text())
        for panel in model["panels"]:
            if panel["type"] != "row":
                assert panel["description"].startswith("Bad: "), (name, panel["title"])
                assert panel["targets"], (name, panel["title"])


def _in_code() -> dict[str, tuple[str, frozenset[str]]]:
    """Every ``catalyst_*`` metric: its exposed name, type and label names."""
    found = {}
    for metric in vars(SearchMetrics()).values():
        if isinstance(metric, MetricWrapperBase):
            kind = metric._type  # noqa: SLF001 (prometheus-client keeps these private)
            name = metric._name + ("_total" if kind == "counter" else "")  # noqa: SLF001
            found[name] = (kind, frozenset(metric._labelnames))  # noqa: SLF001
    totals = IngestTotals()
    fetch = {"fetches": 2, "fetched_bytes": 9, "retries": {"timeout": 1},
             "fetch_failures": {"permanent": 1}}  # fmt: skip
    totals.add(RunFigures("r", "t", "success", 1.0, 1.0, failures={("a", "b"): 1},
                          fetch_kind="s3", fetch=fetch))  # fmt: skip
    totals.settle(now=0.0, settle_s=0)
    for family in totals_registry(totals).collect():
        labels = {k for sample in family.samples for k in sample.labels if k != "le"}
        name = family.name + ("_total" if family.type == "counter" else "")
        found[name] = (family.type, frozenset(labels))
    return found


def test_the_metric_table_lists_every_metric_as_the_code_exposes_it():
    table = {}
    for line in (DOCS / "metrics.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if line.startswith("| `catalyst_"):
            labels = frozenset(label.strip() for label in cells[2].split(",") if label.strip())
            table[cells[0].strip("`")] = (cells[1], labels)
    assert table == _in_code()
