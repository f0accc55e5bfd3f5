"""catalystctl against the running service, through the SDK: every command's output for people
and with ``--json`` (parsed back: the API's own shape), and the exit code of each kind of
error, one line on stderr, never a traceback."""

from __future__ import annotations

import json

import pytest

from catalyst_search import cli
from catalyst_search.index.schema import DENSE_MODEL
from catalyst_search.settings import load_settings
from tests.client.test_sdk import _publish
from tests.conftest import icd_records, write_jsonl
from tests.helpers.live_app import live_app
from tests.helpers.services import free_port
from tests.helpers.tokens import SECRET


@pytest.fixture
def service(catalyst_home):
    with live_app(load_settings()) as url:
        yield url


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_ingest_then_jobs_list_status_cancel_retry(service, tmp_path, capsys):
    source = write_jsonl(tmp_path / "r.jsonl", icd_records(limit=3))
    assert cli.main(["ingest", str(source), "--url", service]) == 0
    out = capsys.readouterr().out
    job_id = out.split()[1]
    assert f"follow it with: catalystctl jobs follow {job_id}" in out
    assert cli.main(["ingest", str(source), "--json", "--server", service]) == 0
    accepted = _json(capsys)
    assert set(accepted) == {"job_id", "status", "status_url", "dispatch"}

    assert cli.main(["jobs", "list", "--json", "--server", service]) == 0
    page = _json(capsys)
    assert [j["job_id"] for j in page["jobs"]] == [accepted["job_id"], job_id]
    assert page["next_cursor"] is None
    assert cli.main(["jobs", "list", "--limit", "1", "--server", service]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["JOB", "STATUS", "DOCUMENTS", "SOURCES", "CREATED", "(UTC)"]
    assert lines[1].split()[:4] == [accepted["job_id"], "queued", "0/?", "1"]
    assert lines[2].startswith("more: catalystctl jobs list --cursor ")

    assert cli.main(["jobs", "status", job_id, "--json", "--url", service]) == 0
    view = _json(capsys)
    assert view["status"] == "queued" and view["sources"][0]["source"] == str(source.resolve())
    assert cli.main(["jobs", "status", job_id, "--url", service]) == 0
    assert capsys.readouterr().out.startswith(f"job {job_id}: queued, 0/? documents\n")

    assert cli.main(["jobs", "cancel", job_id, "--server", service]) == 0
    assert capsys.readouterr().out == f"job {job_id} cancelled\n"
    assert cli.main(["jobs", "cancel", job_id, "--server", service]) == 0  # the same again
    assert capsys.readouterr().out == f"job {job_id} cancelled\n"
    assert cli.main(["jobs", "follow", job_id, "--json", "--server", service]) == 1
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["kind"] for e in events][-1] == "job_finished"
    assert events[-1]["data"] == {"status": "cancelled"}
    assert cli.main(["jobs", "retry", job_id, "--json", "--server", service]) == 0
    retried = _json(capsys)["job_id"]
    assert cli.main(["jobs", "status", retried, "--json", "--server", service]) == 0
    assert _json(capsys)["metadata"] == {"retry_of": job_id}
    assert cli.main(["jobs", "retry", retried, "--server", service]) == 6
    assert capsys.readouterr().err == f"error: job {retried} is queued: nothing to retry\n"


def test_errors_are_one_line_with_their_exit_code(service, catalyst_home, tmp_path, capsys):
    down = f"http://127.0.0.1:{free_port()}"
    cases = [
        (["jobs", "status", "nope", "--server", service], 5, "no ingest job nope"),
        (["jobs", "retry", "nope", "--server", service], 5, "no ingest job nope"),
        (["ingest", "/etc", "--server", service], 2, "CATALYST_SOURCE_ROOTS"),
        (["ingest", str(tmp_path / "missing"), "--server", service], 2, "does not exist"),
        (["jobs", "list", "--server", down], 3, f"cannot reach {down}"),
        (["search", "diabetes", "--server", down], 3, "cannot reach"),
        (["search", "diabetes", "--server", service], 7, "ingest documents first"),
    ]
    for argv, code, message in cases:
        assert cli.main(argv) == code, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err, (argv, err)
        assert err.count("\n") == 1 and "Traceback" not in err


def test_a_refused_credential_is_exit_4_and_says_how_to_fix_it(catalyst_home, monkeypatch, capsys):
    monkeypatch.setenv("CATALYST_AUTH", "jwt")
    monkeypatch.setenv("CATALYST_JWT_SECRET", SECRET)
    monkeypatch.delenv("CATALYST_API_TOKEN", raising=False)
    monkeypatch.setenv("CATALYST_CONFIG", "/nonexistent/config.toml")
    with live_app(load_settings()) as url:
        assert cli.main(["jobs", "list", "--server", url]) == 4
        err = capsys.readouterr().err
        assert err.startswith("error: missing_credential") and "CATALYST_API_TOKEN" in err
        assert cli.main(["doctor", "--json", "--server", url]) == 1
        checks = {c["name"]: c for c in _json(capsys)["checks"]}
        assert checks["service"]["state"] == "ok"
        assert checks["credential"]["state"] == "fail"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, dense, sparse):
    home = tmp_path_factory.mktemp("cli")
    _publish(home, dense, sparse)
    with live_app(load_settings(home=home)) as url:
        yield url


def test_search_prints_results_a_breakdown_with_debug_and_the_api_shape_with_json(indexed, capsys):
    query = "type 2 diabetes with kidney complications"
    assert cli.main(["search", query, "--top-k", "3", "--server", indexed]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[:3]] == ["1.", "2.", "3."]
    assert lines[3].startswith("(3 results, ")
    assert cli.main(["search", query, "--top-k", "3", "--json", "--server", indexed]) == 0
    answer = _json(capsys)
    assert len(answer["results"]) == 3 and "hits" not in answer
    assert cli.main(["search", query, "--top-k", "3", "--debug", "--server", indexed]) == 0
    out = capsys.readouterr().out
    table = out[out.index("score breakdown\n") :].splitlines()[1:]
    assert table[0].split() == ["#", "DOCUMENT", "DENSE", "#", "DENSE", "SPARSE", "#", "SPARSE",
                                "FUSED", "RERANK", "TIER"]  # fmt: skip
    first = table[1].split()
    assert first[0] == "1" and first[1] == answer["results"][0]["document_id"]
    assert cli.main(["search", query, "--debug", "--json", "--server", indexed]) == 0
    assert _json(capsys)["debug"]["results"][0]["dense"]["rank"] is not None


def test_index_info_and_doctor_report_what_is_there(indexed, capsys):
    assert cli.main(["index", "info", "--json", "--server", indexed]) == 0
    info = _json(capsys)
    assert info["tenant_id"] == "default" and info["chunks"] > 0 and info["index_version"]
    assert [t["tier"] for t in info["rerank_tiers"]] == ["local"]
    assert info["encoder"] == {"model": DENSE_MODEL, "precision": "fp32", "runtime": "onnx"}
    assert cli.main(["index", "info", "--server", indexed]) == 0
    out = capsys.readouterr().out
    assert f"tenant default: {info['chunks']} chunks" in out and "RERANK TIER" in out
    assert f"encoder {DENSE_MODEL} fp32 (onnx)" in out
    assert cli.main(["doctor", "--json", "--server", indexed]) == 0
    checks = {c["name"]: c["state"] for c in _json(capsys)["checks"]}
    assert checks["service"] == checks["index"] == checks["credential"] == "ok"
    assert checks["ingestion"] == "warn"  # no Dagster daemon in this test: jobs would wait
    assert cli.main(["doctor", "--server", indexed]) == 0
    assert capsys.readouterr().out.splitlines()[1].split() == ["CHECK", "STATE", "DETAIL"]


def test_doctor_fails_when_the_service_is_down(catalyst_home, capsys):
    down = f"http://127.0.0.1:{free_port()}"
    assert cli.main(["doctor", "--json", "--server", down]) == 1
    checks = {c["name"]: c for c in _json(capsys)["checks"]}
    assert checks["settings"]["state"] == "ok" and checks["service"]["state"] == "fail"
    assert "cannot reach" in checks["service"]["detail"]


def test_wait_for_job_gives_up_after_its_timeout_with_the_last_state(service, tmp_path):
    import time

    from catalyst_search.client import CatalystClient, JobTimeout

    source = write_jsonl(tmp_path / "r.jsonl", icd_records(limit=1))
    with CatalystClient(service) as client:
        job_id = client.submit_ingest([str(source)]).job_id  # no daemon: it stays queued
        started = time.monotonic()
        with pytest.raises(JobTimeout) as waited:
            client.wait_for_job(job_id, timeout_s=0.6, interval_s=0.25)
    assert 0.6 <= time.monotonic() - started < 5
    assert waited.value.job.job_id == job_id and waited.value.job.status == "queued"
    assert waited.value.job.sources[0].step_retries == 0
