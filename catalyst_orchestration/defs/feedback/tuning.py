"""Tuning: ``relevance_boosts`` computes a new boost version from every feedback event; the
blocking check ``boosts_keep_quality`` evaluates it; ``live_boosts`` puts it in force only when
the check passed (a failed blocking check stops the assets after it), so the previous version
stays live otherwise. Rolling back is ``POST /feedback/boosts/{version}/activate``.
"""

import time
from typing import Any

import dagster as dg
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecordStatus,
)

from catalyst_orchestration.defs.feedback.events import feedback_events
from catalyst_orchestration.defs.resources import (
    ArtifactStoreResource,
    EncodersResource,
    FeedbackStoreResource,
)
from catalyst_orchestration.lib.boost_evaluation import evaluate_version
from catalyst_orchestration.lib.boosts import BoostParams, boost_stats, compute_boosts
from catalyst_orchestration.lib.feedback_files import read_all
from catalyst_search.feedback.boosts import strongest_per_document

CHECK = dg.AssetCheckKey(dg.AssetKey("relevance_boosts"), "boosts_keep_quality")
#: feedback older than this many half-lives weighs under 1/64: tuning does not read it
HALF_LIVES_READ = 6


def _checked_in(instance: dg.DagsterInstance, run_id: str) -> bool:
    """Whether ``boosts_keep_quality`` passed in run ``run_id`` (its latest evaluation)."""
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key([CHECK])
    record = records.get(CHECK)
    return (
        record is not None
        and record.run_id == run_id
        and record.status == AssetCheckExecutionRecordStatus.SUCCEEDED
    )


def _moves(feedback: FeedbackStoreResource, tenant: str) -> bool:
    """Whether the tenant's live version moves anything (an empty one needs no retiring)."""
    live = feedback.store.live_boosts(tenant)
    return live is not None and bool(strongest_per_document(live[1]))


@dg.asset(group_name="feedback", deps=[feedback_events], kinds={"pandas"})
def relevance_boosts(
    context: dg.AssetExecutionContext,
    feedback: FeedbackStoreResource,
    artifacts: ArtifactStoreResource,
) -> dg.Output[dict[str, Any]]:
    """A boost version per tenant from the feedback so far (decayed, capped, with minimum
    evidence); not in force until checked and published by ``live_boosts``. A tenant whose live
    boosts have no evidence left in the window (it aged out) gets an empty version: its old
    boosts are retired rather than kept at full strength. The check leaves retirements out (an
    empty version cannot pass on quality what the evidence no longer supports, and would hold
    every other tenant's new boosts back night after night)."""
    as_of = time.time()
    params = BoostParams()
    since = as_of - HALF_LIVES_READ * params.half_life_days * 86400
    events = read_all(artifacts.feedback_days, since=since)
    boosts = compute_boosts(events, as_of=as_of, params=params)
    retired = [t for t in feedback.store.live_tenants() if t not in boosts and _moves(feedback, t)]
    for tenant in retired:
        boosts[tenant] = {"documents": {}, "terms": {}, "queries": {}}
    version = (
        time.strftime("v%Y%m%dT%H%M%S", time.gmtime(as_of)) + f".{int(as_of * 1000) % 1000:03d}"
    )
    metadata: dict[str, Any] = {
        "version": version,
        "tenants": sorted(boosts),
        "events": len(events),
        "retired": retired,
    }
    for tenant, blob in boosts.items():
        stats = boost_stats(blob, int((events["tenant_id"] == tenant).sum()))
        feedback.store.put_boosts(tenant, version, blob, stats)
        metadata[f"{tenant}: documents moved"] = (
            stats["documents_boosted"] + stats["documents_demoted"]
        )
        metadata[f"{tenant}: largest boost"] = stats["largest_boost"]
        metadata[f"{tenant}: largest demotion"] = stats["largest_demotion"]
        context.log.info(f"{tenant}: {stats}")
    built = {
        "version": version,
        "tenants": sorted(boosts),
        "run_id": context.run_id,
        "since": since,
        "retired": retired,
    }
    return dg.Output(built, metadata=metadata)


@dg.asset_check(
    asset=relevance_boosts,
    blocking=True,
    description="The new boosts must not lower nDCG@10 on CATALYST_EVAL_QUERIES nor the rank of "
    "later feedback's targets (boosts learned from earlier feedback); else they are not published.",
)
def boosts_keep_quality(
    relevance_boosts: dict[str, Any],
    feedback: FeedbackStoreResource,
    encoders: EncodersResource,
    artifacts: ArtifactStoreResource,
) -> dg.AssetCheckResult:
    built = relevance_boosts
    learned = [t for t in built["tenants"] if t not in built["retired"]]
    if not learned:
        return dg.AssetCheckResult(passed=True, metadata={"evaluated": "no new boosts"})
    events = read_all(artifacts.feedback_days, since=built["since"])  # what it was learned from
    report = evaluate_version(
        feedback.store, built["version"], learned, dense=encoders.dense, events=events
    )
    return dg.AssetCheckResult(
        passed=report.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=report.summary,
        metadata=report.metadata,
    )


@dg.asset(group_name="feedback")
def live_boosts(
    context: dg.AssetExecutionContext,
    relevance_boosts: dict[str, Any],
    feedback: FeedbackStoreResource,
) -> dg.MaterializeResult:
    """The version built in this run put in force for each of its tenants, only if its check
    passed (in a tuning run a failed check stops this step; run alone, it refuses)."""
    built = relevance_boosts
    if built["tenants"] and not _checked_in(context.instance, built["run_id"]):
        raise dg.Failure(
            f"boosts {built['version']} did not pass boosts_keep_quality; not published",
            allow_retries=False,
        )
    for tenant in built["tenants"]:
        feedback.store.activate(tenant, built["version"])
    return dg.MaterializeResult(metadata={"version": built["version"], "tenants": built["tenants"]})
