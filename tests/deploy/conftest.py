"""The server backend's index in qdrant-client's local mode (a folder), one source ingested."""

from __future__ import annotations

import dagster as dg
import pytest

from catalyst_search.settings import get_settings
from tests.deploy.helpers import OLD
from tests.orchestration.helpers import ingest


@pytest.fixture
def server_index(catalyst_home, tmp_path, monkeypatch):
    monkeypatch.setenv("CATALYST_INDEX_BACKEND", "server")
    monkeypatch.setenv("CATALYST_QDRANT_URL", f"path:{tmp_path / 'qdrant'}")
    get_settings.cache_clear()
    folder = tmp_path / "guidelines"
    folder.mkdir()
    (folder / "policy.md").write_text(f"# Policy\n\n{OLD}")
    (folder / "thyroid.md").write_text("# Thyroid\n\nLevothyroxine for hypothyroidism.")
    with dg.instance_for_test() as instance:
        result, meta = ingest(folder, instance)
        assert result.success and meta["index_version"] == "catalyst_chunks__v1"
        yield folder, instance, tmp_path
