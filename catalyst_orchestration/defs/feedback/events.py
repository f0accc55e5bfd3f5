"""``feedback_events``: a day of feedback, drained from the feedback log into Parquet.

The log keeps an event until it is acknowledged, and it is acknowledged only after the day's
file holding it has been written; the file is rewritten whole, each event once. So feedback
posted while no run goes is all in the next materialization, and a run killed half-way loses
and doubles nothing.
"""

import dagster as dg

from catalyst_orchestration.defs.resources import ArtifactStoreResource, FeedbackStoreResource
from catalyst_orchestration.lib.feedback_files import day_bounds, merge_day

feedback_days = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_offset=1)
#: events one run drains from a day (read, written and acknowledged together)
MAX_EVENTS_PER_RUN = 200_000


@dg.asset(partitions_def=feedback_days, group_name="feedback", kinds={"parquet"})
def feedback_events(
    context: dg.AssetExecutionContext,
    feedback: FeedbackStoreResource,
    artifacts: ArtifactStoreResource,
) -> dg.MaterializeResult:
    """The day's feedback events (votes and clicks with their query, document and rank), in a
    Parquet file beside the artifacts (on S3 with ``CATALYST_ARTIFACT_STORE``)."""
    day = context.partition_key
    start, end = day_bounds(day)
    files = artifacts.feedback_days
    with files.lock(day):
        pending = feedback.store.pending(start, end, limit=MAX_EVENTS_PER_RUN)
        merged = merge_day(files, day, pending)  # written before the log forgets them
        feedback.store.ack([event.event_id for event in pending])
    drained = len(pending)
    context.log.info(f"{day}: {drained} events drained, {len(merged)} in the day's file")
    if drained == MAX_EVENTS_PER_RUN:
        context.log.warning(f"{day}: more events wait; the next run drains them")
    return dg.MaterializeResult(
        metadata={
            "new_events": drained,
            "events": len(merged),
            "positive": int((merged["rating"] > 0).sum()),
            "negative": int((merged["rating"] < 0).sum()),
            "path": dg.MetadataValue.path(files.where(day)),
        }
    )
