"""The deploy/ instance files load in Dagster against the machine's PostgreSQL, as a daemon
would load them (``DagsterInstance.get()`` in a fresh process, the run launcher and the run
queue instantiated): the Docker one as written, the Kubernetes one with a kubeconfig in place of
the in-cluster credentials it has only inside a cluster."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.orchestration.test_postgres_instance import pg_database  # noqa: F401  (fixture)

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: test, user: {token: not-a-real-token}}]
contexts: [{name: test, context: {cluster: test, user: test}}]
current-context: test
"""


LOAD = """
import dagster as dg
instance = dg.DagsterInstance.get()
queue = instance.run_coordinator.get_run_queue_config()
print(type(instance.run_launcher).__name__, type(instance.run_coordinator).__name__,
      type(instance.run_storage).__name__, queue.max_concurrent_runs,
      [(t["key"], t["limit"]) for t in queue.tag_concurrency_limits])
"""


def instance_info(home: Path, pg_url: str) -> str:
    env = os.environ | {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_URL": pg_url.replace("postgresql://", "postgresql+psycopg2://"),
        "CATALYST_IMAGE": "catalystindex:test",
    }
    done = subprocess.run([sys.executable, "-c", LOAD], env=env, capture_output=True,
                          text=True, timeout=180, cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def test_the_docker_instance_loads_with_its_run_queue(tmp_path, pg_database):  # noqa: F811
    home = tmp_path / "docker"
    home.mkdir()
    shutil.copyfile(ROOT / "deploy" / "dagster.docker.yaml", home / "dagster.yaml")
    info = instance_info(home, pg_database).strip().split(maxsplit=4)
    assert info == ["DockerRunLauncher", "QueuedRunCoordinator", "PostgresRunStorage", "4",
                    "[('catalyst/tenant', 2)]"]  # fmt: skip


def test_the_kubernetes_instance_loads_with_its_run_queue(tmp_path, pg_database):  # noqa: F811
    home = tmp_path / "k8s"
    home.mkdir()
    config = yaml.safe_load((ROOT / "deploy" / "dagster.k8s.yaml").read_text())
    launcher = config["run_launcher"]["config"]
    assert launcher["load_incluster_config"] is True  # as deployed
    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    launcher.update(load_incluster_config=False, kubeconfig_file=str(tmp_path / "kubeconfig"))
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    info = instance_info(home, pg_database).strip().split(maxsplit=4)
    assert info == ["K8sRunLauncher", "QueuedRunCoordinator", "PostgresRunStorage", "8",
                    "[('catalyst/tenant', 2)]"]  # fmt: skip


def test_docker_runs_get_every_setting_a_run_reads_and_an_empty_one_is_unset(monkeypatch):
    from catalyst_search.settings import Settings, SettingsError, load_settings
    from catalyst_search.settings.sources import is_run_setting

    config = yaml.safe_load((ROOT / "deploy" / "dagster.docker.yaml").read_text())
    forwarded = config["run_launcher"]["config"]["env_vars"]
    expected = {
        f"CATALYST_{name.upper()}" for name in Settings.model_fields if is_run_setting(name)
    }
    expected.add("CATALYST_PUSHGATEWAY_SETTLE_S")  # the code location's own (a resource's EnvVar)
    assert {name for name in forwarded if name.startswith("CATALYST_")} == expected
    example = (ROOT / "deploy" / "docker-runs.env.example").read_text().splitlines()
    assert [line.removesuffix("=") for line in example if "=" in line] == forwarded
    monkeypatch.setenv("CATALYST_BM25_AVG_LEN", "")  # forwarded, set empty on the daemon
    monkeypatch.setenv("CATALYST_QDRANT_API_KEY", "")
    settings = load_settings()
    assert settings.bm25_avg_len == Settings.model_fields["bm25_avg_len"].default
    assert settings.qdrant_api_key is None
    monkeypatch.setenv("CATALYST_AUTH", "")  # the service's own: empty is still refused
    with pytest.raises(SettingsError, match="CATALYST_AUTH"):
        load_settings()
