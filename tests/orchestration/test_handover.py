"""Step outputs reach the next step of the same run in memory, and are still pickled, where
Dagster's default IO manager puts them or, with an S3 artifact store, beside the artifacts: a
retry, or a later run, reads the pickle."""

import pickle

import dagster as dg
import pytest
from dagster_aws.s3 import S3Resource

from catalyst_orchestration.defs.resources import handover
from catalyst_orchestration.defs.resources.handover import HandoverIOManager
from catalyst_search.settings import get_settings
from tests.helpers.s3 import moto_s3

PARTS = dg.StaticPartitionsDefinition(["source-a"])
seen: dict[str, list] = {}


@dg.asset(partitions_def=PARTS)
def made() -> dict:
    value = {"rows": [1, 2, 3]}
    seen.setdefault("made", []).append(value)
    return value


@dg.asset(partitions_def=PARTS, retry_policy=dg.RetryPolicy(max_retries=1))
def used(context: dg.AssetExecutionContext, made: dict) -> int:
    seen.setdefault("used", []).append(made)
    if context.retry_number == 0 and seen.get("fail_first"):
        made["rows"].append(99)  # a failed attempt that changed its input
        raise RuntimeError("first attempt fails")
    return len(made["rows"])


@pytest.fixture(autouse=True)
def _settings(catalyst_home, monkeypatch):
    monkeypatch.delenv("CATALYST_ARTIFACT_STORE", raising=False)  # pickles on local disk
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _manager(tmp_path) -> HandoverIOManager:
    return HandoverIOManager(s3=S3Resource(), base_dir=str(tmp_path))


def _run(tmp_path, selection=None) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [made, used],
        selection=selection,
        partition_key="source-a",
        resources={"io_manager": _manager(tmp_path)},
    )


def test_the_next_step_takes_the_output_as_it_was_made_and_the_file_is_written(tmp_path):
    seen.clear()
    result = _run(tmp_path)
    assert result.success
    assert seen["used"][0] is seen["made"][0]  # not unpickled again
    stored = pickle.loads((tmp_path / "made" / "source-a").read_bytes())
    assert stored == {"rows": [1, 2, 3]}
    assert result.output_for_node("used") == 3


def test_a_later_run_reads_the_file(tmp_path):
    seen.clear()
    assert _run(tmp_path).success
    assert _run(tmp_path, selection=["used"]).success  # made is not run again
    first, later = seen["used"]
    assert later == first and later is not first


def test_a_retry_reads_the_file_not_what_the_failed_attempt_changed(tmp_path):
    seen.clear()
    seen["fail_first"] = [True]
    result = _run(tmp_path)
    assert result.success
    failed, retried = seen["used"]
    assert failed is seen["made"][0] and failed["rows"] == [1, 2, 3, 99]
    assert retried == {"rows": [1, 2, 3]}
    assert result.output_for_node("used") == 3


def test_an_output_nothing_took_is_not_kept_past_its_run(tmp_path):
    result = dg.materialize(
        [made],
        partition_key="source-a",
        resources={"io_manager": _manager(tmp_path)},
    )
    assert result.success
    assert handover._SLOT.empty


@pytest.mark.parametrize(
    ("store", "folder"),
    [("s3://acme-artifacts/raw/", "raw/"), ("s3://acme-artifacts", "")],
)
def test_with_an_s3_artifact_store_the_pickles_are_written_beside_the_artifacts(
    tmp_path, monkeypatch, store, folder
):
    """A run re-executed from a failed step may start on another host: it finds them there."""
    with moto_s3(monkeypatch) as client:
        client.create_bucket(Bucket="acme-artifacts")
        monkeypatch.setenv("CATALYST_ARTIFACT_STORE", store)
        get_settings.cache_clear()
        seen.clear()
        try:
            assert _run(tmp_path).success
            assert seen["used"][0] is seen["made"][0]
            body = client.get_object(
                Bucket="acme-artifacts", Key=f"{folder}{handover.S3_FOLDER}/made/source-a"
            )["Body"].read()
            assert pickle.loads(body) == {"rows": [1, 2, 3]}
            assert _run(tmp_path, selection=["used"]).success  # read back from S3
            assert seen["used"][1] == seen["used"][0] and seen["used"][1] is not seen["made"][0]
        finally:
            get_settings.cache_clear()
    assert not (tmp_path / "made").exists()  # nothing on local disk
