"""With ``CATALYST_ARTIFACT_STORE=s3://...`` (production: run workers share no disk) the drained
feedback lands on S3, where a tuning run on another host reads it; two drains of one day that
write at once keep both's events (conditional PUTs), and the log forgets events only once they
are on S3."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import dagster as dg

from catalyst_orchestration.lib.feedback_files import LocalDayFiles, S3DayFiles, merge_day, read_all
from catalyst_search.feedback.redis_store import RedisFeedbackStore
from catalyst_search.settings import get_settings
from tests.feedback.test_stores import vote
from tests.helpers.s3 import moto_s3
from tests.helpers.services import MACHINE_REDIS, delete_prefix, machine_redis, unique_prefix

BUCKET = "acme-feedback"


def _host(monkeypatch, home) -> None:
    """This process plays a run worker with its own, empty home."""
    monkeypatch.setenv("CATALYST_HOME", str(home))
    get_settings.cache_clear()


def test_drained_feedback_is_on_s3_for_a_tuning_run_on_another_host(
    catalyst_home, tmp_path, monkeypatch
):
    from dagster_aws.s3 import S3Resource

    from catalyst_orchestration.definitions import defs
    from catalyst_orchestration.defs.resources import ArtifactStoreResource

    redis, prefix = machine_redis(), unique_prefix()
    monkeypatch.setenv("CATALYST_QUEUE", MACHINE_REDIS)
    monkeypatch.setenv("CATALYST_REDIS_PREFIX", prefix)
    monkeypatch.setenv("CATALYST_ARTIFACT_STORE", f"s3://{BUCKET}/catalyst")
    try:
        with moto_s3(monkeypatch) as s3:
            s3.create_bucket(Bucket=BUCKET)
            store = RedisFeedbackStore(redis, prefix=prefix)
            now, day = time.time(), datetime.now(UTC).strftime("%Y-%m-%d")
            for n in range(5):
                assert store.add_feedback(vote(f"q{n}", "d1", 1, now))
            _host(monkeypatch, tmp_path / "worker-1")
            drain = defs().resolve_job_def("drain_feedback")
            with dg.instance_for_test() as instance:
                assert drain.execute_in_process(instance=instance, partition_key=day).success
            assert store.pending_count() == 0  # acknowledged: on S3 now
            assert LocalDayFiles(tmp_path / "worker-1" / "artifacts").days() == []
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
            assert keys == [f"catalyst/feedback/events/day={day}/events.parquet"]
            _host(monkeypatch, tmp_path / "worker-2")  # the tuning run's host
            artifacts = ArtifactStoreResource(s3=S3Resource())
            with dg.build_init_resource_context() as context:
                artifacts.setup_for_execution(context)
            events = read_all(artifacts.feedback_days)
            assert sorted(events["query_id"]) == [f"q{n}" for n in range(5)]
    finally:
        delete_prefix(redis, prefix)


def test_two_drains_writing_one_day_at_once_keep_both_drains_events(monkeypatch):
    with moto_s3(monkeypatch) as s3:
        s3.create_bucket(Bucket=f"{BUCKET}-race")  # (moto's buckets outlive its server)
        files = S3DayFiles(s3, f"s3://{BUCKET}-race/catalyst")
        day, at = "2026-03-10", datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp()
        merge_day(files, day, [vote("q0", "d1", 1, at)])
        read = files.read

        def raced(d: str):  # another drain writes the day between this one's read and write
            found = read(d)
            if not raced.done:
                raced.done = True
                merge_day(files, d, [vote("other", "d2", -1, at + 1)])
            return found

        raced.done = False
        files.read = raced  # type: ignore[method-assign]
        merged = merge_day(files, day, [vote("q1", "d1", 1, at + 2)])
        assert sorted(merged["query_id"]) == ["other", "q0", "q1"]
        files.read = read  # type: ignore[method-assign]
        assert sorted(read_all(files)["query_id"]) == ["other", "q0", "q1"]
