"""Start-up validation of remote acquisition: a missing bucket and a rejected Firecrawl key are
reported, naming the fix, when the resources start and by ``catalystctl doctor``, before any
document is fetched."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from catalyst_search.cli import main as catalystctl
from catalyst_search.ingest_requests.preflight import check_bucket, check_firecrawl
from catalyst_search.settings import get_settings
from tests.helpers.fake_firecrawl import KEY, FakeFirecrawl
from tests.helpers.s3 import moto_s3
from tests.orchestration.helpers import ingest


@pytest.fixture
def services(catalyst_home, monkeypatch):
    with moto_s3(monkeypatch) as s3, FakeFirecrawl() as firecrawl:
        s3.create_bucket(Bucket="acme-docs")
        monkeypatch.setenv("CATALYST_OUTBOUND_ALLOW", "127.0.0.1")
        monkeypatch.setenv("CATALYST_FIRECRAWL_URL", firecrawl.base)
        get_settings.cache_clear()
        with dg.instance_for_test() as instance:
            yield s3, firecrawl, instance
    get_settings.cache_clear()


def step_error(result: dg.ExecuteInProcessResult) -> str:
    """The errors of the failed steps and of resources that failed to start."""
    failed = (dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RESOURCE_INIT_FAILURE)
    events = [e for e in result.all_events if e.event_type in failed]
    return " ".join(str(getattr(e.event_specific_data, "error", "")) for e in events)


def test_preflight_names_the_missing_bucket_and_the_rejected_key(services):
    s3, firecrawl, _ = services
    problem = check_bucket(s3, "acme-missing", "CATALYST_ARTIFACT_STORE")
    assert problem is not None
    assert problem.what == "S3 bucket acme-missing (CATALYST_ARTIFACT_STORE) does not exist"
    assert problem.fix == "create the bucket or correct CATALYST_ARTIFACT_STORE"
    assert check_bucket(s3, "acme-docs", "CATALYST_ARTIFACT_STORE") is None
    rejected = check_firecrawl(firecrawl.base, "fc-wrong-key")
    assert rejected is not None and "rejected the API key" in rejected.what
    assert "CATALYST_FIRECRAWL_API_KEY" in rejected.fix
    assert check_firecrawl(firecrawl.base, KEY) is None
    unreachable = check_firecrawl("http://127.0.0.1:9", KEY, timeout_s=2)
    assert unreachable is not None and "CATALYST_FIRECRAWL_URL" in unreachable.fix
    assert rejected.lasting and not unreachable.lasting  # an outage is retried, not final


def test_a_missing_artifact_bucket_stops_the_run_when_the_resource_starts(
    services, tmp_path, monkeypatch
):
    _, _, instance = services
    monkeypatch.setenv("CATALYST_ARTIFACT_STORE", "s3://acme-missing/raw")
    get_settings.cache_clear()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n\ntext")
    result, _ = ingest(tmp_path / "docs", instance)
    assert not result.success
    error = step_error(result)
    assert "S3 bucket acme-missing (CATALYST_ARTIFACT_STORE) does not exist" in error
    assert "create the bucket or correct CATALYST_ARTIFACT_STORE" in error


def test_a_rejected_firecrawl_key_is_reported_at_start_and_fails_only_firecrawl_sources(
    services, tmp_path, monkeypatch
):
    _, firecrawl, instance = services
    monkeypatch.setenv("CATALYST_FIRECRAWL_API_KEY", "fc-wrong-key")
    get_settings.cache_clear()
    result, _ = ingest(f"firecrawl+{firecrawl.base}/page", instance)  # type: ignore[arg-type]
    assert not result.success
    logged = [
        e.message
        for e in instance.all_logs(result.run_id)
        if e.level >= 40  # ERROR
    ]
    assert any("Firecrawl:" in m and "CATALYST_FIRECRAWL_API_KEY" in m for m in logged)
    assert "rejected the API key" in step_error(result)
    assert firecrawl.calls == {}  # nothing was scraped with a key known to be bad

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n\nfolder sources go on")
    folder_result, meta = ingest(tmp_path / "docs", instance)
    assert folder_result.success and meta["documents_new"] == 1


def test_doctor_reports_both_with_the_fix(services, monkeypatch, capsys):
    monkeypatch.setenv("CATALYST_ARTIFACT_STORE", "s3://acme-missing/raw")
    monkeypatch.setenv("CATALYST_FIRECRAWL_API_KEY", "fc-wrong-key")
    get_settings.cache_clear()
    code = catalystctl(["doctor", "--json", "--server", "http://127.0.0.1:9"])
    assert code == 1
    checks = json.loads(capsys.readouterr().out)["checks"]
    acquisition = [c["detail"] for c in checks if c["name"] == "acquisition"]
    assert any("acme-missing" in d and "fix: create the bucket" in d for d in acquisition)
    assert any(
        "rejected the API key" in d and "CATALYST_FIRECRAWL_API_KEY" in d for d in acquisition
    )
    assert all(c["state"] == "fail" for c in checks if c["name"] == "acquisition")
    assert "fc-wrong-key" not in json.dumps(checks)  # the secret is never shown
