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


def _forget(tmp_path) -> None:
    manager = _manager(tmp_path).create_io_manager(dg.build_init_resource_context())
    assets = [dg.AssetKey("made"), dg.AssetKey("used"), dg.AssetKey("never_stored")]
    handover.forget_partition(manager, assets, "source-a")


def test_forgetting_a_partition_deletes_its_stored_outputs(tmp_path):
    """What retire_source does for a retired source's partition: its copies of the documents."""
    assert _run(tmp_path).success
    assert sorted(p.parent.name for p in tmp_path.glob("*/source-a")) == ["made", "used"]
    _forget(tmp_path)
    assert list(tmp_path.glob("*/source-a")) == []
    _forget(tmp_path)  # again: nothing left, nothing fails


def test_forgetting_a_partition_deletes_its_outputs_from_s3(tmp_path, monkeypatch):
    with moto_s3(monkeypatch) as client:
        client.create_bucket(Bucket="retired-artifacts")
        client.put_object(Bucket="retired-artifacts", Key="raw/sha256/ab/abc.md", Body=b"artifact")
        monkeypatch.setenv("CATALYST_ARTIFACT_STORE", "s3://retired-artifacts/raw/")
        get_settings.cache_clear()
        try:
            assert _run(tmp_path).success
            folder = f"raw/{handover.S3_FOLDER}"
            stored = {
                o["Key"] for o in client.list_objects_v2(Bucket="retired-artifacts")["Contents"]
            }
            assert {f"{folder}/made/source-a", f"{folder}/used/source-a"} <= stored
            _forget(tmp_path)
            _forget(tmp_path)
            left = {
                o["Key"] for o in client.list_objects_v2(Bucket="retired-artifacts")["Contents"]
            }
        finally:
            get_settings.cache_clear()
    assert left == {"raw/sha256/ab/abc.md"}  # the artifacts stay: other sources may share them
